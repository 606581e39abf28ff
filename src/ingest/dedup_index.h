#pragma once
// DedupIndex: the collector's memory of which event_ids it has accepted
// within the dedup window (default 1 h), so a retried event is counted as a
// duplicate instead of being stored twice.
//
// Each id is kept as a 96-bit XXH3 fingerprint plus a 32-bit expiry second:
// 16 bytes a slot in 1,024 open-addressing tables, each kept between half
// and all of its own threshold full (thresholds 55-78 %, staggered so the
// tables do not all double at once), so 21-58 bytes per remembered event
// (about 34 on average). Memory grows with rate x window: 10,000 events/s
// for 1 h = 36 M ids = about 1.2 GB.
//
// Bounded memory: with max_ids > 0, once more ids than that are held the
// index forgets the oldest ones first (those that would expire soonest),
// shortening its window for as long as the rate needs (EffectiveWindowMs,
// logged once); a retry older than that is stored again, and the lake and
// the hot tier still drop it by event_id. Without the bound, 1 M events/s
// for 1 h would need ~115 GB.
// The chance that two different ids share a fingerprint within a window of
// n ids is about n^2 / 2^97 (1e-10 at 3.6 billion ids).
//
// An id goes absent -> pending (claimed by an in-flight request) ->
// committed (durable in the log) or back to absent (append failed). A
// second request that meets a pending id waits for the first one's outcome,
// so an id is never reported as a duplicate of an event that was not stored.
// A claim writes the id's slot with its final expiry at once and puts the id
// on its shard's short pending list; Commit only takes it off that list, so
// an accepted id costs one probe of the table (one cache miss), not two.
//
// The hot path hashes each id once (KeyOf) and hands the Keys to ClaimAll,
// Commit and Release, which visit the 1,024 shards in order and take each
// shard's lock once per call (ClaimAll prefetches all its keys' slots
// first, so their cache misses overlap). A call that meets an id pending
// in another request gives back its own claims and claims again one id at a
// time under a global lock, waiting there (see dedup_index.cc: why this
// cannot deadlock). Thread safe.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

namespace viewpipe {

class DedupIndex {
 public:
  enum class Claim : uint8_t { kNew, kDuplicate };
  // An id's fingerprint and shard, computed once per id.
  struct Key {
    uint64_t lo = 0;  // bit 0 always set
    uint32_t hi = 0;
    uint32_t shard = 0;
    bool operator==(const Key& o) const { return lo == o.lo && hi == o.hi; }
  };
  static Key KeyOf(std::string_view id);

  // max_ids: 0 = unbounded.
  explicit DedupIndex(int64_t window_ms, size_t max_ids = 0);
  ~DedupIndex();

  // For each key: kNew (now pending, owned by the caller, who must Commit or
  // Release it; once committed it is remembered until now_ms + window) or
  // kDuplicate (committed and unexpired at now_ms, or an earlier key of the
  // same call). Blocks while another caller holds a key.
  void ClaimAll(std::span<const Key> keys, int64_t now_ms, std::vector<Claim>* out);
  // Pending -> committed.
  void Commit(std::span<const Key> keys);
  // Pending -> absent.
  void Release(std::span<const Key> keys);

  // The same by id (hashes each id; for tests and tools).
  void ClaimAll(std::span<const std::string_view> ids, int64_t now_ms, std::vector<Claim>* out);
  void Commit(std::span<const std::string_view> ids);
  void Release(std::span<const std::string_view> ids);
  // Marks an id committed (recovery from the log).
  void Remember(std::string_view id, int64_t accepted_at_ms);

  int64_t window_ms() const { return window_ms_; }
  // The window ids are actually kept for at now_ms: window_ms() unless the
  // bound made the index forget the oldest ones.
  int64_t EffectiveWindowMs(int64_t now_ms) const;
  // Slots in use (live or expired-but-not-yet-reclaimed) and bytes held.
  size_t Size() const;
  size_t MemoryBytes() const;

 private:
  struct Shard;
  struct ShardGroups;

  // Claims without waiting; false (its own claims given back) when a key is
  // pending in another call.
  bool TryClaimAll(std::span<const Key> keys, uint32_t now_sec, uint32_t expires_sec,
                   std::vector<Claim>* out);
  // One key at a time, waiting on keys pending elsewhere. REQUIRES: claim_mu_.
  void ClaimWaiting(std::span<const Key> keys, uint32_t now_sec, uint32_t expires_sec,
                    std::vector<Claim>* out);
  // Takes pending keys off their shards' lists: kCommit keeps their slots;
  // kRelease and kGiveBack (TryClaimAll's, before it counted them) free them.
  enum class Resolution { kCommit, kRelease, kGiveBack };
  void Resolve(std::span<const Key> keys, Resolution how);

  // The current second, or the bound's horizon when that is later: ids
  // expiring by then count as expired.
  uint32_t Horizon(uint32_t now_sec) const;
  // Raises the horizon when more than max_ids_ slots are held.
  void Bound(uint32_t now_sec);

  // Ids claimed per span of expiry seconds, for Bound to find how many
  // expire by when. REQUIRES for both: expiry_mu_.
  void CountExpiry(uint32_t expires_sec, int64_t n);

  const int64_t window_ms_;
  const size_t max_ids_;
  std::mutex expiry_mu_;
  uint32_t expiry_span_sec_ = 1;               // seconds per bucket
  std::vector<std::pair<uint32_t, int64_t>> expiry_buckets_;  // ring: (bucket number, ids)
  std::atomic<int64_t> used_{0};          // slots held, all shards (approximate between calls)
  std::atomic<uint32_t> horizon_sec_{0};  // 0: no bound in force
  std::atomic<bool> warned_{false};
  std::mutex claim_mu_;  // held by the one caller that may wait on pending ids
  std::unique_ptr<Shard[]> shards_;
};

}  // namespace viewpipe
