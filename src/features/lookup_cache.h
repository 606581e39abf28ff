#pragma once
// LookupCache: the rendered JSON answers of profile lookups
// (GET /v1/features/profiles/<id>), so that a repeated lookup skips the
// store read, the decoding, the evaluation and the rendering (about a third
// of a lookup's CPU on the lookup port; bench/README.md, "Features").
//
// Exact, never stale:
// - an entry holds the answer rendered at as_of with the range
//   [as_of, valid_until) over which the profile's features do not change
//   (ProfileValidUntil, feature_vector.h); a lookup at T in that range gets
//   the entry with T spliced in as "as_of", byte for byte what rendering
//   afresh gives; outside it, a miss;
// - every store write goes through InvalidatingFeatureStore
//   (invalidating_feature_store.h), which calls BeginWrite with the batch
//   before writing and EndWrite after: from BeginWrite on, the batch's
//   profiles have no entry and none can be inserted in their shards (so
//   every lookup reads the store, and a reader that saw the new state is
//   never followed by one answered the old) until EndWrite;
// - a miss takes a Ticket before reading the store; Insert refuses the
//   answer when a write touched the id's shard since (the answer may have
//   been read before that write);
// - memory only: a restart (kill -9 included) starts empty.
// Bounded: over max_bytes (keys and bodies) a shard is emptied. Only for a
// store this process alone writes (RocksDB, not a shared Redis).
//
// Thread safe.

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/metrics.h"
#include "features/feature_store.h"

namespace viewpipe::features {

class LookupCache {
 public:
  // metrics may be null.
  explicit LookupCache(size_t max_bytes = 64u << 20, MetricsRegistry* metrics = nullptr);

  // Appends the answer for profile id at as_of and returns true when an
  // entry covers as_of.
  bool Find(std::string_view id, int64_t as_of, std::string* out);
  // Take before reading the store on a miss; pass to Insert.
  uint64_t Ticket(std::string_view id);
  // Keeps body, the answer for id rendered at as_of (its "as_of" value is
  // as_of), valid for [as_of, valid_until), unless id's shard was
  // invalidated after ticket was taken.
  void Insert(std::string_view id, uint64_t ticket, int64_t as_of, int64_t valid_until,
              std::string_view body);
  // Around a store write of batch: drop the entries of the profiles it puts
  // or deletes, and refuse inserts in their shards until EndWrite.
  void BeginWrite(const FeatureBatch& batch);
  void EndWrite(const FeatureBatch& batch);

  size_t entries();

 private:
  struct Entry {
    std::string head;  // the body up to the as_of value
    std::string tail;  // the body after it
    int64_t from = 0;
    int64_t until = 0;
  };
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
  };
  struct Shard {
    std::mutex mu;
    uint64_t generation = 0;  // bumped by every BeginWrite/EndWrite touching the shard
    int writing = 0;          // writes begun and not ended
    size_t bytes = 0;
    std::unordered_map<std::string, Entry, Hash, std::equal_to<>> entries;
  };
  static constexpr size_t kShards = 64;
  Shard& ShardOf(std::string_view id);
  // Calls fn(shard) once per shard holding a profile that batch writes, and
  // erase those profiles' entries, each under its shard's lock.
  template <typename Fn>
  void ForShardsOf(const FeatureBatch& batch, Fn fn);

  size_t shard_max_bytes_;
  std::vector<std::unique_ptr<Shard>> shards_;
  Counter* hits_ = nullptr;
  Counter* misses_ = nullptr;
};

}  // namespace viewpipe::features
