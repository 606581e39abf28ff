#pragma once
// FeatureStore: the online store of feature states, keyed by (kind, id),
// together with the consumer offsets the states correspond to. The embedded
// implementation is RocksDB (rocksdb_feature_store.h); a Redis one plugs in
// behind the same interface (Write maps to MULTI/EXEC) and must pass the
// conformance suite in feature_store_test.cc.
//
// Contract: Write applies every put AND the offsets atomically: after a
// crash a reader sees either all of a batch or none of it, so the states are
// always exactly the fold of the records before Offsets(). Thread safe:
// Get/MultiGet from any thread concurrently with one writer.

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "log/log.h"

namespace viewpipe::features {

// kSession: a session's mark (feature_state.h), an input of title features.
enum class FeatureKind : uint8_t { kProfile, kTitle, kSession };

struct FeatureKey {
  FeatureKind kind = FeatureKind::kProfile;
  std::string id;
  bool operator==(const FeatureKey&) const = default;
};

struct FeaturePut {
  FeatureKey key;
  std::string value;
};

inline FeaturePut MakePut(FeatureKind kind, std::string id, std::string value) {
  FeaturePut p;
  p.key.kind = kind;
  p.key.id = std::move(id);
  p.value = std::move(value);
  return p;
}

struct FeatureBatch {
  std::vector<FeaturePut> puts;
  std::vector<FeatureKey> deletes;  // applied after the puts
  // The next offset per partition the batch brings the states to; merged
  // into the stored offsets (partitions not named keep theirs).
  std::map<PartitionId, Offset> offsets;
};

class FeatureStore {
 public:
  virtual ~FeatureStore() = default;
  // nullopt when the key has no value.
  virtual Result<std::optional<std::string>> Get(const FeatureKey& key) = 0;
  // One answer per key, in order.
  virtual Result<std::vector<std::optional<std::string>>> MultiGet(
      std::span<const FeatureKey> keys) = 0;
  // Applies the puts, the deletes and the offsets atomically.
  virtual Status Write(const FeatureBatch& batch) = 0;
  // Calls fn(id, value) for every key of kind (in no particular order)
  // until it returns false. Sees a consistent snapshot.
  virtual Status Scan(FeatureKind kind,
                      const std::function<bool(std::string_view, std::string_view)>& fn) = 0;
  // The stored offsets (empty for a new store).
  virtual Result<std::map<PartitionId, Offset>> Offsets() = 0;
};

}  // namespace viewpipe::features
