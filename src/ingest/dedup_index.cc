// Why claiming cannot deadlock: a caller waits on a pending ticket only in
// ClaimWaiting, which holds claim_mu_, so at most one caller waits at a
// time. The ticket it waits on belongs either to a caller that finished
// claiming (it appends without waiting on the index, then commits or
// releases) or to a caller still in TryClaimAll, which never waits: it
// finishes, or meets a pending id, gives its claims back, resolves its
// ticket and only then queues for claim_mu_ (taking a new ticket once it
// holds it). So no caller that waits for claim_mu_ holds a pending ticket.
// Shard locks are held only for a probe or a group of probes, never while
// waiting.

#include "ingest/dedup_index.h"

#include <xxhash.h>

#include <algorithm>
#include <array>
#include <atomic>

#include <spdlog/spdlog.h>

#include "common/status.h"

namespace viewpipe {
namespace {

// Many small shards, each growing at its own fill level (GrowAtPerMille):
// a table that doubles stalls the requests that need it while it rehashes,
// so the index is cut into pieces small enough that one rehash is short,
// and the pieces do not all double at the same moment. With one threshold
// for all, 64 shards all doubled within a few requests of each other: at
// 500,000 events/s, 15 s in (7.5 M ids), that stalled every request for
// tens of ms in turn (p99 71 ms against 9 ms with a 1 s window).
constexpr size_t kShardBits = 10;
constexpr size_t kShards = size_t{1} << kShardBits;
constexpr uint32_t kReleased = 1;  // expiry in the past: reusable slot
constexpr size_t kMinCapacity = 64;

constexpr size_t kTickets = size_t{1} << 16;

struct Slot {
  uint64_t lo = 0;  // 0: empty (fingerprints never are: lo has bit 0 set)
  uint16_t hi = 0;
  uint16_t ticket = 0;  // the claim's (DedupIndex::Ticket); 0: remembered at recovery
  uint32_t expires_sec = 0;
};
static_assert(sizeof(Slot) == 16);

// Expiry in whole seconds, rounded up, and the current second rounded down:
// an id is never forgotten before its window ends (at most 1 s after).
uint32_t ExpirySec(int64_t ms) {
  return static_cast<uint32_t>(std::max<int64_t>((ms + 999) / 1000, 2));
}
uint32_t NowSec(int64_t ms) { return static_cast<uint32_t>(std::max<int64_t>(ms / 1000, 2)); }

bool Dead(const Slot& s, uint32_t now_sec) { return s.expires_sec <= now_sec; }

std::vector<DedupIndex::Key> KeysOf(std::span<const std::string_view> ids) {
  std::vector<DedupIndex::Key> keys;
  keys.reserve(ids.size());
  for (std::string_view id : ids) keys.push_back(DedupIndex::KeyOf(id));
  return keys;
}

}  // namespace

// Positions of a call's keys grouped by shard, each group in key order.
struct DedupIndex::ShardGroups {
  std::array<uint32_t, kShards + 1> begin{};
  std::vector<uint32_t> order;

  explicit ShardGroups(std::span<const Key> keys) : order(keys.size()) {
    std::array<uint32_t, kShards> next{};
    for (const Key& k : keys) ++next[k.shard];
    for (size_t s = 0; s < kShards; ++s) begin[s + 1] = begin[s] + next[s];
    std::copy(begin.begin(), begin.end() - 1, next.begin());
    for (uint32_t i = 0; i < keys.size(); ++i) order[next[keys[i].shard]++] = i;
  }
  std::span<const uint32_t> Group(size_t shard) const {
    return {order.data() + begin[shard], order.data() + begin[shard + 1]};
  }
};

// Shard i grows (or cleans) at a fill of 55 % up to 78 %, spread evenly
// over the shards; after growing it is 27-39 % full.
uint32_t GrowAtPerMille(size_t shard_index) {
  return static_cast<uint32_t>(550 + shard_index * 230 / kShards);
}

struct DedupIndex::Shard {
  std::mutex mu;
  uint32_t grow_at_per_mille = 750;
  std::vector<Slot> slots = std::vector<Slot>(kMinCapacity);
  size_t used = 0;
  // slots' address and size - 1, for prefetching without the lock: a stale
  // pair only prefetches a useless (never dereferenced) address.
  std::atomic<uintptr_t> table{reinterpret_cast<uintptr_t>(slots.data())};
  std::atomic<size_t> mask{kMinCapacity - 1};

  size_t Home(const Key& k) const { return (k.lo >> 7) & (slots.size() - 1); }
  // Without the lock (TryClaimAll). The home slot's cache line and the
  // next: a new id's probe runs to the end of its cluster, 3-11 slots at
  // 55-78 % full, often past the home line (new ids in a 30 M index: ~105
  // instead of ~140 ns each with the home line alone; a prefetch past the
  // table's end is harmless).
  void PrefetchUnlocked(const Key& k) const {
    const uintptr_t at = table.load(std::memory_order_relaxed) +
                         ((k.lo >> 7) & mask.load(std::memory_order_relaxed)) * sizeof(Slot);
    __builtin_prefetch(reinterpret_cast<const void*>(at), 1);
    __builtin_prefetch(reinterpret_cast<const void*>(at + 64), 1);
  }

  // The slot holding k, or where to put it (first dead slot on the probe
  // path, else the empty slot that ends it).
  Slot* Find(const Key& k, uint32_t now_sec, bool* found) {
    const size_t mask = slots.size() - 1;
    Slot* reusable = nullptr;
    for (size_t i = Home(k);; i = (i + 1) & mask) {
      Slot& s = slots[i];
      if (s.lo == 0) {
        *found = false;
        return reusable != nullptr ? reusable : &s;
      }
      if (s.lo == k.lo && s.hi == k.hi) {
        *found = true;
        return &s;
      }
      if (reusable == nullptr && Dead(s, now_sec)) reusable = &s;
    }
  }

  // Makes room for n more slots: grows or cleans the table (keeping live
  // ids only) when they would take it past grow_at_per_mille. Adds the
  // change in slots held to *held.
  void Reserve(size_t n, uint32_t now_sec, int64_t* held) {
    if ((used + n) * 1000 < slots.size() * grow_at_per_mille) return;
    *held -= static_cast<int64_t>(used);
    std::vector<Slot> old;
    old.swap(slots);
    size_t live = 0;
    for (const Slot& s : old) live += s.lo != 0 && !Dead(s, now_sec);
    size_t cap = kMinCapacity;
    while (cap < (live + n) * 2 + 2) cap *= 2;
    slots.assign(cap, Slot{});
    table.store(reinterpret_cast<uintptr_t>(slots.data()), std::memory_order_relaxed);
    mask.store(cap - 1, std::memory_order_relaxed);
    used = 0;
    for (const Slot& s : old) {
      if (s.lo == 0 || Dead(s, now_sec)) continue;
      bool found;
      *Find(Key{.lo = s.lo, .hi = s.hi}, now_sec, &found) = s;
      ++used;
    }
    *held += static_cast<int64_t>(used);
  }

  // Stores k with the given ticket and expiry in *s, a slot Find returned for k.
  void Store(Slot* s, const Key& k, Ticket ticket, uint32_t expires_sec, bool found,
             int64_t* held) {
    if (!found && s->lo == 0) {
      ++used;
      ++*held;
    }
    *s = Slot{k.lo, k.hi, ticket, expires_sec};
  }

  // One probe: claims k under ticket (its slot gets the ticket and
  // expires_sec at once) unless it is live; then false, with the ticket
  // that claimed it in *holder.
  bool Claim(const Key& k, Ticket ticket, uint32_t now_sec, uint32_t expires_sec, int64_t* held,
             Ticket* holder) {
    Reserve(1, now_sec, held);
    bool found;
    Slot* s = Find(k, now_sec, &found);
    if (found && !Dead(*s, now_sec)) {
      *holder = s->ticket;
      return false;
    }
    Store(s, k, ticket, expires_sec, found, held);
    return true;
  }
};

DedupIndex::DedupIndex(int64_t window_ms, size_t max_ids)
    : window_ms_(window_ms),
      max_ids_(max_ids),
      shards_(new Shard[kShards]),
      ticket_pending_(new std::atomic<uint8_t>[kTickets]) {
  for (size_t i = 0; i < kTickets; ++i) ticket_pending_[i].store(0, std::memory_order_relaxed);
  for (size_t i = 0; i < kShards; ++i) shards_[i].grow_at_per_mille = GrowAtPerMille(i);
  if (max_ids_ > 0) {  // 256 buckets across the window, and room for the ones past it
    expiry_span_sec_ = static_cast<uint32_t>(std::max<int64_t>(1, window_ms_ / 1000 / 256));
    expiry_buckets_.assign(300, {UINT32_MAX, 0});
  }
}

uint32_t DedupIndex::Horizon(uint32_t now_sec) const {
  return std::max(now_sec, horizon_sec_.load(std::memory_order_relaxed));
}

void DedupIndex::CountExpiry(uint32_t expires_sec, int64_t n) {
  if (max_ids_ == 0) return;
  std::lock_guard<std::mutex> lock(expiry_mu_);
  const uint32_t bucket = expires_sec / expiry_span_sec_;
  auto& [number, count] = expiry_buckets_[bucket % expiry_buckets_.size()];
  if (number != bucket) {  // a bucket of an earlier lap of the ring: long expired
    number = bucket;
    count = 0;
  }
  count += n;
}

void DedupIndex::Bound(uint32_t now_sec) {
  if (max_ids_ == 0 || used_.load(std::memory_order_relaxed) <= static_cast<int64_t>(max_ids_)) {
    return;
  }
  // Forget the ids that expire first, up to the bucket that leaves at most
  // 3/4 of the bound (tables drop them as they fill; new ids reuse their
  // slots on the way).
  std::lock_guard<std::mutex> lock(expiry_mu_);
  const uint32_t first = Horizon(now_sec) / expiry_span_sec_;
  const uint32_t last = first + static_cast<uint32_t>(expiry_buckets_.size()) - 1;
  auto ids_in = [&](uint32_t bucket) -> int64_t {
    const auto& [number, count] = expiry_buckets_[bucket % expiry_buckets_.size()];
    return number == bucket ? count : 0;
  };
  int64_t live = 0;
  for (uint32_t b = first; b <= last; ++b) live += ids_in(b);
  const auto target = static_cast<int64_t>(max_ids_ / 4 * 3);
  uint32_t b = first;
  for (; b <= last && live > target; ++b) live -= ids_in(b);
  const uint32_t horizon = b * expiry_span_sec_;
  uint32_t old = horizon_sec_.load(std::memory_order_relaxed);
  while (horizon > old && !horizon_sec_.compare_exchange_weak(old, horizon)) {
  }
  if (horizon > now_sec && !warned_.exchange(true)) {
    spdlog::warn("dedup: over the bound of {} event_ids: forgetting the oldest; the window is "
                 "{} s instead of {} s while the rate stays this high "
                 "(viewpipe_dedup_window_effective_seconds)",
                 max_ids_, EffectiveWindowMs(int64_t{now_sec} * 1000) / 1000, window_ms_ / 1000);
  }
}

int64_t DedupIndex::EffectiveWindowMs(int64_t now_ms) const {
  const uint32_t now_sec = NowSec(now_ms);
  const uint32_t horizon = horizon_sec_.load(std::memory_order_relaxed);
  if (horizon <= now_sec) return window_ms_;
  return std::max<int64_t>(0, window_ms_ - int64_t{horizon - now_sec} * 1000);
}

DedupIndex::~DedupIndex() = default;

DedupIndex::Key DedupIndex::KeyOf(std::string_view id) {
  XXH128_hash_t h = XXH3_128bits(id.data(), id.size());
  return Key{h.low64 | 1, static_cast<uint16_t>(h.high64),
             static_cast<uint32_t>(h.high64 >> (64 - kShardBits))};
}

DedupIndex::Ticket DedupIndex::TakeTicket() {
  for (;;) {
    const auto t = static_cast<Ticket>(next_ticket_.fetch_add(1, std::memory_order_relaxed));
    uint8_t free = 0;
    if (t != 0 && ticket_pending_[t].compare_exchange_strong(free, 1, std::memory_order_acq_rel)) {
      return t;
    }
  }
}

void DedupIndex::Resolve(Ticket ticket) {
  ticket_pending_[ticket].store(0, std::memory_order_seq_cst);
  if (waiters_.load(std::memory_order_seq_cst) > 0) {
    { std::lock_guard<std::mutex> lock(resolved_mu_); }
    resolved_cv_.notify_all();
  }
}

void DedupIndex::AwaitResolved(Ticket ticket) {
  waiters_.fetch_add(1, std::memory_order_seq_cst);
  {
    std::unique_lock<std::mutex> lock(resolved_mu_);
    resolved_cv_.wait(lock, [&] {
      return ticket_pending_[ticket].load(std::memory_order_seq_cst) == 0;
    });
  }
  waiters_.fetch_sub(1, std::memory_order_relaxed);
}

DedupIndex::Ticket DedupIndex::ClaimAll(std::span<const Key> keys, int64_t now_ms,
                                        std::vector<Claim>* out) {
  const uint32_t now_sec = Horizon(NowSec(now_ms));
  const uint32_t expires_sec = ExpirySec(now_ms + window_ms_);
  Ticket ticket = TakeTicket();
  if (!TryClaimAll(keys, ticket, now_sec, expires_sec, out)) {
    Resolve(ticket);  // before waiting for claim_mu_ (the header comment of this file)
    std::lock_guard<std::mutex> claim_lock(claim_mu_);
    ticket = TakeTicket();
    ClaimWaiting(keys, ticket, now_sec, expires_sec, out);
  }
  CountExpiry(expires_sec, std::count(out->begin(), out->end(), Claim::kNew));
  Bound(NowSec(now_ms));
  return ticket;
}

bool DedupIndex::TryClaimAll(std::span<const Key> keys, Ticket ticket, uint32_t now_sec,
                             uint32_t expires_sec, std::vector<Claim>* out) {
  out->assign(keys.size(), Claim::kDuplicate);
  int64_t held = 0;  // added to used_ on the way out
  // Every key's home slot is prefetched first, in one pass without locks:
  // the probes below run under a shard lock each, and a lock's atomic
  // instruction waits for the loads before it, so misses met one shard at a
  // time do not overlap. A call's 500 home lines (32-64 KB) stay in the
  // cache for the probes. Against a rolling prefetch 16 keys ahead, in an
  // index of 30 M ids: 62-64 instead of 110-130 ns per lookup of a known id,
  // 103-106 instead of 171-191 ns per new id (bench/dedup_bench,
  // bench/README.md "Ingest").
  for (const Key& k : keys) shards_[k.shard].PrefetchUnlocked(k);
  const ShardGroups groups(keys);
  for (size_t shard_index = 0; shard_index < kShards; ++shard_index) {
    const std::span<const uint32_t> group = groups.Group(shard_index);
    if (group.empty()) continue;
    Shard& shard = shards_[shard_index];
    std::unique_lock<std::mutex> lock(shard.mu);
    for (size_t g = 0; g < group.size(); ++g) {
      Ticket holder = 0;
      if (shard.Claim(keys[group[g]], ticket, now_sec, expires_sec, &held, &holder)) {
        (*out)[group[g]] = Claim::kNew;
        continue;
      }
      // Live: ours from earlier in this call, committed, or pending elsewhere.
      if (holder == ticket || !Pending(holder)) continue;
      lock.unlock();
      // Give back what this call claimed: the groups visited so far.
      std::vector<Key> mine;
      for (uint32_t j : std::span(groups.order.data(), groups.begin[shard_index] + g)) {
        if ((*out)[j] == Claim::kNew) mine.push_back(keys[j]);
      }
      used_.fetch_add(held, std::memory_order_relaxed);
      Unclaim(mine, ticket, /*counted=*/false);
      return false;
    }
  }
  used_.fetch_add(held, std::memory_order_relaxed);
  return true;
}

void DedupIndex::ClaimWaiting(std::span<const Key> keys, Ticket ticket, uint32_t now_sec,
                              uint32_t expires_sec, std::vector<Claim>* out) {
  out->assign(keys.size(), Claim::kNew);
  int64_t held = 0;
  for (size_t i = 0; i < keys.size(); ++i) {
    Shard& shard = shards_[keys[i].shard];
    for (;;) {
      Ticket holder = 0;
      {
        std::lock_guard<std::mutex> lock(shard.mu);
        if (shard.Claim(keys[i], ticket, now_sec, expires_sec, &held, &holder)) break;
      }
      if (holder == ticket || !Pending(holder)) {
        (*out)[i] = Claim::kDuplicate;
        break;
      }
      AwaitResolved(holder);
    }
  }
  used_.fetch_add(held, std::memory_order_relaxed);
}

void DedupIndex::Unclaim(std::span<const Key> keys, Ticket ticket, bool counted) {
  const ShardGroups groups(keys);
  std::vector<uint32_t> released;  // expiries of the slots marked absent
  for (size_t shard_index = 0; shard_index < kShards; ++shard_index) {
    const std::span<const uint32_t> group = groups.Group(shard_index);
    if (group.empty()) continue;
    Shard& shard = shards_[shard_index];
    std::lock_guard<std::mutex> lock(shard.mu);
    for (uint32_t i : group) {
      // Still ours unless the bound let another claim take the slot.
      bool found;
      Slot* s = shard.Find(keys[i], kReleased + 1, &found);
      if (found && s->ticket == ticket && s->expires_sec > kReleased) {
        released.push_back(s->expires_sec);
        s->expires_sec = kReleased;
      }
    }
  }
  if (!counted) return;
  for (uint32_t expires_sec : released) CountExpiry(expires_sec, -1);
}

void DedupIndex::Commit(Ticket ticket) { Resolve(ticket); }

void DedupIndex::Release(Ticket ticket, std::span<const Key> new_keys) {
  Unclaim(new_keys, ticket, /*counted=*/true);
  Resolve(ticket);
}

DedupIndex::Ticket DedupIndex::ClaimAll(std::span<const std::string_view> ids, int64_t now_ms,
                                        std::vector<Claim>* out) {
  return ClaimAll(KeysOf(ids), now_ms, out);
}

void DedupIndex::Release(Ticket ticket, std::span<const std::string_view> new_ids) {
  Release(ticket, KeysOf(new_ids));
}

void DedupIndex::Remember(std::string_view id, int64_t accepted_at_ms) {
  const Key key = KeyOf(id);
  Shard& shard = shards_[key.shard];
  const uint32_t now_sec = NowSec(accepted_at_ms);
  {
    std::lock_guard<std::mutex> lock(shard.mu);
    const uint32_t horizon = Horizon(now_sec);
    int64_t held = 0;
    shard.Reserve(1, horizon, &held);
    bool found;
    Slot* s = shard.Find(key, horizon, &found);
    shard.Store(s, key, /*ticket=*/0, ExpirySec(accepted_at_ms + window_ms_), found, &held);
    used_.fetch_add(held, std::memory_order_relaxed);
  }
  CountExpiry(ExpirySec(accepted_at_ms + window_ms_), 1);
  Bound(now_sec);
}

size_t DedupIndex::Size() const {
  size_t n = 0;
  for (size_t i = 0; i < kShards; ++i) {
    std::lock_guard<std::mutex> lock(shards_[i].mu);
    n += shards_[i].used;
  }
  return n;
}

size_t DedupIndex::MemoryBytes() const {
  size_t n = 0;
  for (size_t i = 0; i < kShards; ++i) {
    std::lock_guard<std::mutex> lock(shards_[i].mu);
    n += shards_[i].slots.capacity() * sizeof(Slot);
  }
  return n;
}

}  // namespace viewpipe
