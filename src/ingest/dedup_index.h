#pragma once
// DedupIndex: the collector's memory of which event_ids it has accepted
// within the dedup window (default 1 h), so a retried event is counted as a
// duplicate instead of being stored twice.
//
// Each id is kept as an 80-bit XXH3 fingerprint (plus 10 more bits of the
// hash that pick its shard), the ticket of the call that claimed it and a
// 32-bit expiry second: 16 bytes a slot in 1,024 open-addressing tables,
// each kept between half and all of its own threshold full (thresholds
// 55-78 %, staggered so the tables do not all double at once), so 21-58
// bytes per remembered event (about 34 on average). Memory grows with rate
// x window: 10,000 events/s for 1 h = 36 M ids = about 1.2 GB.
//
// Bounded memory: with max_ids > 0, once more ids than that are held the
// index forgets the oldest ones first (those that would expire soonest),
// shortening its window for as long as the rate needs (EffectiveWindowMs,
// logged once); a retry older than that is stored again, and the lake and
// the hot tier still drop it by event_id. Without the bound, 1 M events/s
// for 1 h would need ~115 GB.
// The chance that two different ids share a fingerprint and a shard within
// a window of n ids is about n^2 / 2^90 (1e-8 at 3.6 billion ids, 1e-12 at
// 36 million).
//
// An id goes absent -> pending (claimed by an in-flight call) -> committed
// (durable in the log) or back to absent (append failed). A second call that
// meets a pending id waits for the first one's outcome, so an id is never
// reported as a duplicate of an event that was not stored.
// Each ClaimAll takes a ticket (one of 65,535, reused once resolved) and
// writes it into the slots it claims, with their final expiry, at once.
// Commit only marks the ticket resolved: one store, no second visit to the
// shards, so an accepted id costs one probe of one table. A live slot is
// pending while its ticket is unresolved, and committed after: Release
// (rare: the append failed) marks its ids' slots absent before resolving
// the ticket. A slot keeps the number of a ticket long resolved; when that
// number is in use again, a retry of its id waits for the new call's
// outcome, then is the duplicate it was.
//
// The hot path hashes each id once (KeyOf) and hands the Keys to ClaimAll,
// which visits the 1,024 shards in order and takes each shard's lock once
// per call (prefetching all its keys' slots first, so their cache misses
// overlap). A call that meets an id pending in another call gives back its
// own claims and claims again one id at a time under a global lock, waiting
// there (see dedup_index.cc: why this cannot deadlock). Thread safe.

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
  // A ClaimAll call's claim on its new ids, until Commit or Release.
  using Ticket = uint16_t;
  // An id's fingerprint and shard, computed once per id.
  struct Key {
    uint64_t lo = 0;  // bit 0 always set
    uint16_t hi = 0;
    uint32_t shard = 0;
    bool operator==(const Key& o) const { return lo == o.lo && hi == o.hi; }
  };
  static Key KeyOf(std::string_view id);

  // max_ids: 0 = unbounded.
  explicit DedupIndex(int64_t window_ms, size_t max_ids = 0);
  ~DedupIndex();

  // For each key: kNew (now pending, under the returned ticket; once
  // committed it is remembered until now_ms + window) or kDuplicate
  // (committed and unexpired at now_ms, or an earlier key of the same call).
  // Blocks while another call holds a key. Every ticket must be given to
  // exactly one Commit or Release, also when no key was new.
  Ticket ClaimAll(std::span<const Key> keys, int64_t now_ms, std::vector<Claim>* out);
  // The ticket's ids: pending -> committed.
  void Commit(Ticket ticket);
  // The ticket's ids: pending -> absent. new_keys: the keys its ClaimAll
  // found kNew (the others are left as they are).
  void Release(Ticket ticket, std::span<const Key> new_keys);

  // The same by id (hashes each id; for tests and tools).
  Ticket ClaimAll(std::span<const std::string_view> ids, int64_t now_ms, std::vector<Claim>* out);
  void Release(Ticket ticket, std::span<const std::string_view> new_ids);
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

  // Claims without waiting under ticket; false (its claims given back) when
  // a key is pending in another call.
  bool TryClaimAll(std::span<const Key> keys, Ticket ticket, uint32_t now_sec,
                   uint32_t expires_sec, std::vector<Claim>* out);
  // One key at a time, waiting on keys pending elsewhere. REQUIRES: claim_mu_.
  void ClaimWaiting(std::span<const Key> keys, Ticket ticket, uint32_t now_sec,
                    uint32_t expires_sec, std::vector<Claim>* out);
  // Marks the slots that ticket claimed for keys absent (slots another
  // claim took meanwhile are left alone); counted: their claims went into
  // the expiry counts (CountExpiry), which then drop them.
  void Unclaim(std::span<const Key> keys, Ticket ticket, bool counted);

  // A free ticket, now pending; Resolve frees it and wakes the callers
  // waiting on it.
  Ticket TakeTicket();
  void Resolve(Ticket ticket);
  bool Pending(Ticket ticket) const {
    return ticket_pending_[ticket].load(std::memory_order_acquire) != 0;
  }
  // Waits until ticket is resolved. When the number is taken again before
  // this caller wakes, it waits for that next holder too (never for a caller
  // queued on claim_mu_, which holds no ticket: no deadlock).
  void AwaitResolved(Ticket ticket);

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
  // Tickets: 1 while pending. Ticket 0 is never taken (Remember's slots).
  std::unique_ptr<std::atomic<uint8_t>[]> ticket_pending_;
  std::atomic<uint32_t> next_ticket_{1};
  std::atomic<int> waiters_{0};  // callers in AwaitResolved
  std::mutex resolved_mu_;
  std::condition_variable resolved_cv_;
};

}  // namespace viewpipe
