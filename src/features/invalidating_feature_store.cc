#include "features/invalidating_feature_store.h"

namespace viewpipe::features {

Result<std::optional<std::string>> InvalidatingFeatureStore::Get(const FeatureKey& key) {
  return inner_->Get(key);
}

Result<std::vector<std::optional<std::string>>> InvalidatingFeatureStore::MultiGet(
    std::span<const FeatureKey> keys) {
  return inner_->MultiGet(keys);
}

Status InvalidatingFeatureStore::Write(const FeatureBatch& batch) {
  // Between the two no entry of the batch's profiles is served or kept, so
  // lookups read the store; tickets taken before are refused after. Also on
  // failure: a store's write may have landed in part.
  cache_->BeginWrite(batch);
  Status st = inner_->Write(batch);
  cache_->EndWrite(batch);
  return st;
}

Status InvalidatingFeatureStore::Scan(
    FeatureKind kind, const std::function<bool(std::string_view, std::string_view)>& fn) {
  return inner_->Scan(kind, fn);
}

Result<std::map<PartitionId, Offset>> InvalidatingFeatureStore::Offsets() {
  return inner_->Offsets();
}

}  // namespace viewpipe::features
