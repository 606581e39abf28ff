#pragma once
// InvalidatingFeatureStore: a FeatureStore that writes through to another
// one and keeps a LookupCache (lookup_cache.h) exact: Write brackets the
// inner write with the cache's BeginWrite/EndWrite, so no entry is older
// than a write that has returned. Reads pass through.
// Everything that writes the store (the updater) must write through this.

#include "features/feature_store.h"
#include "features/lookup_cache.h"

namespace viewpipe::features {

class InvalidatingFeatureStore final : public FeatureStore {
 public:
  // inner and cache outlive this.
  InvalidatingFeatureStore(FeatureStore* inner, LookupCache* cache)
      : inner_(inner), cache_(cache) {}

  Result<std::optional<std::string>> Get(const FeatureKey& key) override;
  Result<std::vector<std::optional<std::string>>> MultiGet(
      std::span<const FeatureKey> keys) override;
  Status Write(const FeatureBatch& batch) override;
  Status Scan(FeatureKind kind,
              const std::function<bool(std::string_view, std::string_view)>& fn) override;
  Result<std::map<PartitionId, Offset>> Offsets() override;

 private:
  FeatureStore* inner_;
  LookupCache* cache_;
};

}  // namespace viewpipe::features
