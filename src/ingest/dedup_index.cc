#include "ingest/dedup_index.h"

#include <xxhash.h>

#include <algorithm>

#include "common/status.h"

namespace viewpipe {
namespace {

constexpr size_t kShards = 64;
constexpr uint32_t kPending = 0;      // expiry value of a claimed, not yet durable id
constexpr uint32_t kReleased = 1;     // expiry in the past: reusable slot
constexpr size_t kMinCapacity = 64;

struct Slot {
  uint64_t lo = 0;  // 0 with hi 0: empty (fingerprints never are: lo has bit 0 set)
  uint32_t hi = 0;
  uint32_t expires_sec = 0;
};
static_assert(sizeof(Slot) == 16);

// Expiry in whole seconds, rounded up, and the current second rounded down:
// an id is never forgotten before its window ends (at most 1 s after).
uint32_t ExpirySec(int64_t ms) {
  return static_cast<uint32_t>(std::max<int64_t>((ms + 999) / 1000, 2));
}
uint32_t NowSec(int64_t ms) { return static_cast<uint32_t>(std::max<int64_t>(ms / 1000, 2)); }

}  // namespace

struct DedupIndex::Shard {
  std::mutex mu;
  std::condition_variable resolved;  // a pending id of this shard was committed or released
  std::vector<Slot> slots = std::vector<Slot>(kMinCapacity);
  size_t used = 0;

  // The slot holding (lo, hi), or where to put it (first dead slot on the
  // probe path, else the empty slot that ends it).
  Slot* Find(uint64_t lo, uint32_t hi, uint32_t now_sec, bool* found) {
    size_t mask = slots.size() - 1;
    Slot* reusable = nullptr;
    for (size_t i = (lo >> 7) & mask;; i = (i + 1) & mask) {
      Slot& s = slots[i];
      if (s.lo == 0) {
        *found = false;
        return reusable != nullptr ? reusable : &s;
      }
      if (s.lo == lo && s.hi == hi) {
        *found = true;
        return &s;
      }
      bool dead = s.expires_sec != kPending && s.expires_sec <= now_sec;
      if (dead && reusable == nullptr) reusable = &s;
    }
  }

  // Grows or cleans the table when it is 3/4 full, keeping live ids only.
  void MaybeRehash(uint32_t now_sec) {
    if ((used + 1) * 4 < slots.size() * 3) return;
    std::vector<Slot> old;
    old.swap(slots);
    size_t live = 0;
    for (const Slot& s : old) {
      if (s.lo != 0 && (s.expires_sec == kPending || s.expires_sec > now_sec)) ++live;
    }
    size_t cap = kMinCapacity;
    while (cap < live * 2 + 2) cap *= 2;
    slots.assign(cap, Slot{});
    used = 0;
    for (const Slot& s : old) {
      if (s.lo == 0 || (s.expires_sec != kPending && s.expires_sec <= now_sec)) continue;
      bool found;
      *Find(s.lo, s.hi, now_sec, &found) = s;
      ++used;
    }
  }

  // Inserts or overwrites (lo, hi) with the given expiry.
  void Put(uint64_t lo, uint32_t hi, uint32_t expires_sec, uint32_t now_sec) {
    MaybeRehash(now_sec);
    bool found;
    Slot* s = Find(lo, hi, now_sec, &found);
    if (!found && s->lo == 0) ++used;
    *s = Slot{lo, hi, expires_sec};
  }
};

DedupIndex::DedupIndex(int64_t window_ms)
    : window_ms_(window_ms), shards_(new Shard[kShards]) {}

DedupIndex::~DedupIndex() = default;

DedupIndex::Fingerprint DedupIndex::Fingerprinted(std::string_view id) {
  XXH128_hash_t h = XXH3_128bits(id.data(), id.size());
  return Fingerprint{h.low64 | 1, static_cast<uint32_t>(h.high64),
                     static_cast<size_t>(h.high64 >> 58) % kShards};
}

void DedupIndex::ClaimAll(std::span<const std::string_view> ids, int64_t now_ms,
                          std::vector<Claim>* out) {
  std::lock_guard<std::mutex> claim_lock(claim_mu_);
  const uint32_t now_sec = NowSec(now_ms);
  out->assign(ids.size(), Claim::kNew);
  for (size_t i = 0; i < ids.size(); ++i) {
    Fingerprint fp = Fingerprinted(ids[i]);
    Shard& shard = shards_[fp.shard];
    std::unique_lock<std::mutex> lock(shard.mu);
    for (;;) {
      bool found;
      Slot* s = shard.Find(fp.lo, fp.hi, now_sec, &found);
      if (!found || (s->expires_sec != kPending && s->expires_sec <= now_sec)) {
        shard.Put(fp.lo, fp.hi, kPending, now_sec);
        break;
      }
      if (s->expires_sec != kPending) {
        (*out)[i] = Claim::kDuplicate;
        break;
      }
      // Pending: ours from earlier in this call, or another request's.
      bool ours = false;
      for (size_t j = 0; j < i && !ours; ++j) {
        ours = (*out)[j] == Claim::kNew && ids[j] == ids[i];
      }
      if (ours) {
        (*out)[i] = Claim::kDuplicate;
        break;
      }
      shard.resolved.wait(lock);
    }
  }
}

void DedupIndex::Commit(std::span<const std::string_view> ids, int64_t accepted_at_ms) {
  const uint32_t expires = ExpirySec(accepted_at_ms + window_ms_);
  const uint32_t now_sec = NowSec(accepted_at_ms);
  for (std::string_view id : ids) {
    Fingerprint fp = Fingerprinted(id);
    Shard& shard = shards_[fp.shard];
    {
      std::lock_guard<std::mutex> lock(shard.mu);
      shard.Put(fp.lo, fp.hi, expires, now_sec);
    }
    shard.resolved.notify_all();
  }
}

void DedupIndex::Release(std::span<const std::string_view> ids) {
  for (std::string_view id : ids) {
    Fingerprint fp = Fingerprinted(id);
    Shard& shard = shards_[fp.shard];
    {
      std::lock_guard<std::mutex> lock(shard.mu);
      bool found;
      Slot* s = shard.Find(fp.lo, fp.hi, kReleased + 1, &found);
      if (found && s->expires_sec == kPending) s->expires_sec = kReleased;
    }
    shard.resolved.notify_all();
  }
}

void DedupIndex::Remember(std::string_view id, int64_t accepted_at_ms) {
  Fingerprint fp = Fingerprinted(id);
  Shard& shard = shards_[fp.shard];
  std::lock_guard<std::mutex> lock(shard.mu);
  shard.Put(fp.lo, fp.hi, ExpirySec(accepted_at_ms + window_ms_), NowSec(accepted_at_ms));
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
