#pragma once
// ViewerSeries: the concurrent viewers of every key (key 0 is the total, the
// others are dimension values, see KeyDirectory) at every second.
//
// Two moving seconds split time:
//   mutable_begin (F): seconds >= F may still change (a late event within
//     the lateness bound). Each key keeps them as a ring of per-second
//     differences d(s) = count(s) - count(s - 1), so a session's
//     contribution over seconds [a, b) costs two updates whatever its
//     length, and base = count(F - 1).
//   as_of: the newest complete second. Each key keeps cur = count(as_of),
//     moved by every difference at or before as_of, so the live numbers cost
//     nothing to read.
// Seconds < F are frozen into one FrozenSeries per key, lazily: a key keeps
// a ring only while it has differences in the mutable seconds, and reads
// [frozen.end(), F) as base.
//
// Not thread safe: the ops state's lock guards it.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ops/frozen_series.h"

namespace viewpipe::ops {

class ViewerSeries {
 public:
  using KeyId = uint32_t;
  static constexpr KeyId kTotal = 0;
  // The most seconds the mutable window may span (18 h).
  static constexpr int64_t kMaxRingSeconds = int64_t{1} << 16;

  // An empty series (no keys but the total) whose mutable seconds start at
  // mutable_begin; REQUIRES as_of >= mutable_begin - 1. The ring starts with
  // room for min_ring_seconds and grows on demand up to kMaxRingSeconds.
  ViewerSeries(int64_t mutable_begin, int64_t as_of, int64_t min_ring_seconds);
  ViewerSeries(const ViewerSeries&) = delete;
  ViewerSeries& operator=(const ViewerSeries&) = delete;

  // A new key with zero viewers at every second.
  KeyId AddKey();
  size_t key_count() const { return keys_.size(); }

  // Adds delta to d(second) of key k.
  // REQUIRES mutable_begin() <= second < mutable_begin() + kMaxRingSeconds.
  void Add(KeyId k, int64_t second, int32_t delta);
  // Moves the newest complete second to as_of and freezes the seconds before
  // mutable_begin. REQUIRES both do not move back; as_of >= mutable_begin - 1.
  void Advance(int64_t mutable_begin, int64_t as_of);
  // Frees frozen history before second (whole hours).
  void DropBefore(int64_t second);

  int64_t mutable_begin() const { return mutable_begin_; }
  int64_t as_of() const { return as_of_; }
  // Viewers of k at as_of().
  int32_t Current(KeyId k) const { return keys_[k].cur; }
  // Viewers of k at second (0 before the key existed or in dropped history).
  int32_t At(KeyId k, int64_t second) const;
  size_t MemoryBytes() const;

  // Checkpoint support: the time and ring size, then every key in order.
  void EncodeHeader(std::string* out) const;
  static std::unique_ptr<ViewerSeries> DecodeHeader(std::string_view* in);
  void EncodeKey(KeyId k, std::string* out) const;
  // Appends a key read from *in (the first one read is the total).
  bool DecodeKey(std::string_view* in);

 private:
  struct Key {
    std::unique_ptr<int32_t[]> ring;  // null: no differences in the mutable seconds
    uint32_t nonzero = 0;             // non-zero ring entries
    uint32_t active_pos = 0;          // position in active_ while ring != null
    int32_t base = 0;                 // count(mutable_begin - 1)
    int32_t cur = 0;                  // count(as_of)
    FrozenSeries frozen;              // seconds < frozen.end(); then base up to F
  };
  int32_t& Slot(Key& key, int64_t second) { return key.ring[second & (ring_size_ - 1)]; }
  int32_t SlotValue(const Key& key, int64_t second) const {
    return key.ring[second & (ring_size_ - 1)];
  }
  void Activate(KeyId k);
  void Deactivate(KeyId k);
  void GrowRing(int64_t seconds);
  void Freeze(Key& key, int64_t from, int64_t to);

  int64_t mutable_begin_;
  int64_t as_of_;
  int64_t ring_size_;  // power of two
  std::vector<Key> keys_;
  std::vector<KeyId> active_;
};

}  // namespace viewpipe::ops
