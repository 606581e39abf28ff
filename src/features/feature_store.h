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

// The whole state of a profile or title (one process folds every partition).
inline constexpr PartitionId kWholeState = -1;

struct FeatureKey {
  FeatureKind kind = FeatureKind::kProfile;
  std::string id;
  // >= 0: the PARTIAL state of a profile or title folded from one partition
  // of `viewing` only (a shared store, feature_merge.h); never for sessions.
  PartitionId partition = kWholeState;
  bool operator==(const FeatureKey&) const = default;
};

// The key name both stores use below their own prefix: "p/<id>", "t/<id>",
// "s/<id>"; a partial state "p<partition>/<id>", "t<partition>/<id>" (so
// Scan(kind), over "p/", sees whole states only).
inline std::string StoreKeyName(const FeatureKey& k) {
  std::string out(1, k.kind == FeatureKind::kProfile ? 'p'
                     : k.kind == FeatureKind::kTitle ? 't'
                                                     : 's');
  if (k.partition != kWholeState) out += std::to_string(k.partition);
  out += '/';
  out += k.id;
  return out;
}

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
  // Fencing of processes that share a store (docs/scale.md): when not
  // empty, the batch is applied only if each named partition's stored
  // offset is still the given one (nullopt: it has none); otherwise nothing
  // is applied and Write returns Aborted starting "fenced:" (another
  // process owns the partition now, or wrote it since).
  std::map<PartitionId, std::optional<Offset>> expected_offsets;
};

// Whether a Write failed because of expected_offsets.
inline bool IsFenced(const Status& st) {
  return st.code() == Status::Code::kAborted && st.message().starts_with("fenced:");
}

// The "fenced:" error of partition p (both stores).
inline Status FencedError(PartitionId p, std::optional<Offset> stored,
                          std::optional<Offset> expected) {
  auto name = [](std::optional<Offset> o) { return o ? std::to_string(*o) : std::string("none"); };
  return Status::Aborted("fenced: partition " + std::to_string(p) +
                         " of the feature store has offset " + name(stored) +
                         ", this process expected " + name(expected) +
                         ": another process of the features group owns it now");
}

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
