#pragma once
// RocksDbFeatureStore: the embedded FeatureStore. One RocksDB database:
//   "p/<profile_id>"  profile state      "t/<title_id>"  title state
//   "s/<SessionKeyId>" session mark
//   "p<partition>/<id>", "t<partition>/<id>"  partial states (feature_merge.h)
//   "o/<partition>"   next offset (8 bytes, big endian)
// A Write is one rocksdb::WriteBatch through the WAL: a kill -9 keeps every
// acknowledged batch whole (sync = true additionally survives power loss).

#include <memory>
#include <mutex>
#include <string>

#include "features/feature_store.h"

namespace rocksdb {
class DB;
}

namespace viewpipe::features {

struct RocksDbOptions {
  bool sync = false;  // fsync the WAL on every Write
  size_t block_cache_bytes = 64u << 20;
};

class RocksDbFeatureStore final : public FeatureStore {
 public:
  static Result<std::unique_ptr<RocksDbFeatureStore>> Open(const std::string& dir,
                                                           RocksDbOptions options = {});
  ~RocksDbFeatureStore() override;

  Result<std::optional<std::string>> Get(const FeatureKey& key) override;
  Result<std::vector<std::optional<std::string>>> MultiGet(
      std::span<const FeatureKey> keys) override;
  Status Write(const FeatureBatch& batch) override;
  Status Scan(FeatureKind kind,
              const std::function<bool(std::string_view, std::string_view)>& fn) override;
  Result<std::map<PartitionId, Offset>> Offsets() override;

 private:
  RocksDbFeatureStore(std::unique_ptr<rocksdb::DB> db, RocksDbOptions options);
  Status CheckFence(const FeatureBatch& batch);
  std::unique_ptr<rocksdb::DB> db_;
  std::mutex write_mu_;
  RocksDbOptions options_;
};

}  // namespace viewpipe::features
