#include "ops/viewer_series.h"

#include <algorithm>
#include <bit>

#include "common/status.h"
#include "ops/bytes.h"

namespace viewpipe::ops {

ViewerSeries::ViewerSeries(int64_t mutable_begin, int64_t as_of, int64_t min_ring_seconds)
    : mutable_begin_(mutable_begin),
      as_of_(as_of),
      ring_size_(static_cast<int64_t>(std::bit_ceil(static_cast<uint64_t>(
          std::clamp<int64_t>(min_ring_seconds, 64, kMaxRingSeconds))))) {
  VP_CHECK(as_of >= mutable_begin - 1, "as_of before the mutable seconds");
  AddKey();  // the total
}

ViewerSeries::KeyId ViewerSeries::AddKey() {
  keys_.emplace_back();
  keys_.back().frozen.Start(mutable_begin_);
  return static_cast<KeyId>(keys_.size() - 1);
}

void ViewerSeries::Activate(KeyId k) {
  Key& key = keys_[k];
  key.ring = std::make_unique<int32_t[]>(static_cast<size_t>(ring_size_));
  key.nonzero = 0;
  key.active_pos = static_cast<uint32_t>(active_.size());
  active_.push_back(k);
}

void ViewerSeries::Deactivate(KeyId k) {
  Key& key = keys_[k];
  const KeyId last = active_.back();
  active_[key.active_pos] = last;
  keys_[last].active_pos = key.active_pos;
  active_.pop_back();
  key.ring.reset();
}

void ViewerSeries::GrowRing(int64_t seconds) {
  VP_CHECK(seconds <= kMaxRingSeconds, "viewer series: mutable window too wide");
  const int64_t size = static_cast<int64_t>(std::bit_ceil(static_cast<uint64_t>(seconds)));
  for (KeyId k : active_) {
    Key& key = keys_[k];
    auto ring = std::make_unique<int32_t[]>(static_cast<size_t>(size));
    for (int64_t s = mutable_begin_; s < mutable_begin_ + ring_size_; ++s) {
      ring[s & (size - 1)] = SlotValue(key, s);
    }
    key.ring = std::move(ring);
  }
  ring_size_ = size;
}

void ViewerSeries::Add(KeyId k, int64_t second, int32_t delta) {
  VP_CHECK(second >= mutable_begin_, "viewer series: change to a frozen second");
  if (second >= mutable_begin_ + ring_size_) GrowRing(second - mutable_begin_ + 1);
  Key& key = keys_[k];
  if (!key.ring) Activate(k);
  int32_t& slot = Slot(key, second);
  const bool was = slot != 0;
  slot += delta;
  const bool is = slot != 0;
  key.nonzero += static_cast<uint32_t>(is) - static_cast<uint32_t>(was);
  if (second <= as_of_) key.cur += delta;
}

// Moves [from, to) (mutable seconds) of key into its frozen series.
void ViewerSeries::Freeze(Key& key, int64_t from, int64_t to) {
  for (int64_t s = from; s < to; ++s) {
    int32_t& slot = Slot(key, s);
    if (slot == 0) continue;
    key.frozen.Append(key.base, s - key.frozen.end());
    key.base += slot;
    slot = 0;
    --key.nonzero;
  }
}

void ViewerSeries::Advance(int64_t mutable_begin, int64_t as_of) {
  VP_CHECK(mutable_begin >= mutable_begin_ && as_of >= as_of_ && as_of >= mutable_begin - 1,
           "viewer series: time moved back");
  const int64_t ring_end = mutable_begin_ + ring_size_;  // differences beyond are all 0
  const bool small_step = as_of - as_of_ <= ring_size_;
  if (small_step) {
    for (KeyId k : active_) {
      Key& key = keys_[k];
      for (int64_t s = as_of_ + 1; s <= as_of && s < ring_end; ++s) key.cur += SlotValue(key, s);
    }
  }
  const int64_t freeze_end = std::min(mutable_begin, ring_end);
  for (size_t i = 0; i < active_.size();) {
    const KeyId k = active_[i];
    Key& key = keys_[k];
    Freeze(key, mutable_begin_, freeze_end);
    if (key.nonzero == 0) {
      Deactivate(k);  // moves another key into position i
    } else {
      ++i;
    }
  }
  mutable_begin_ = mutable_begin;
  as_of_ = as_of;
  if (!small_step) {
    for (Key& key : keys_) {
      key.cur = key.base;
      if (!key.ring) continue;
      for (int64_t s = mutable_begin_; s <= as_of_ && s < mutable_begin_ + ring_size_; ++s) {
        key.cur += SlotValue(key, s);
      }
    }
  }
}

void ViewerSeries::DropBefore(int64_t second) {
  for (Key& key : keys_) key.frozen.DropBefore(second);
}

int32_t ViewerSeries::At(KeyId k, int64_t second) const {
  const Key& key = keys_[k];
  if (second < mutable_begin_) {
    return second < key.frozen.end() ? key.frozen.At(second) : key.base;
  }
  if (!key.ring) return key.base;
  const int64_t last = std::min(second, mutable_begin_ + ring_size_ - 1);
  // Sum from whichever known count is nearer: base at F - 1 or cur at as_of.
  if (last > as_of_) {  // a running second (live=1): cur plus the seconds after as_of
    int32_t v = key.cur;
    for (int64_t s = as_of_ + 1; s <= last; ++s) v += SlotValue(key, s);
    return v;
  }
  if (as_of_ - last < last - mutable_begin_) {
    int32_t v = key.cur;
    for (int64_t s = last + 1; s <= as_of_; ++s) v -= SlotValue(key, s);
    return v;
  }
  int32_t v = key.base;
  for (int64_t s = mutable_begin_; s <= last; ++s) v += SlotValue(key, s);
  return v;
}

size_t ViewerSeries::MemoryBytes() const {
  size_t bytes = sizeof(*this) + keys_.capacity() * sizeof(Key) +
                 active_.capacity() * sizeof(KeyId) +
                 active_.size() * static_cast<size_t>(ring_size_) * sizeof(int32_t);
  for (const Key& key : keys_) bytes += key.frozen.MemoryBytes() - sizeof(FrozenSeries);
  return bytes;
}

void ViewerSeries::EncodeHeader(std::string* out) const {
  bytes::PutSigned(out, mutable_begin_);
  bytes::PutSigned(out, as_of_);
  bytes::PutVarint(out, static_cast<uint64_t>(ring_size_));
}

std::unique_ptr<ViewerSeries> ViewerSeries::DecodeHeader(std::string_view* in) {
  int64_t mutable_begin, as_of;
  uint64_t ring;
  if (!bytes::GetSigned(in, &mutable_begin) || !bytes::GetSigned(in, &as_of) ||
      !bytes::GetVarint(in, &ring) || as_of < mutable_begin - 1 ||
      ring > static_cast<uint64_t>(kMaxRingSeconds) || !std::has_single_bit(ring)) {
    return nullptr;
  }
  auto series = std::make_unique<ViewerSeries>(mutable_begin, as_of, static_cast<int64_t>(ring));
  series->keys_.clear();  // DecodeKey brings the total back
  return series;
}

void ViewerSeries::EncodeKey(KeyId k, std::string* out) const {
  const Key& key = keys_[k];
  bytes::PutSigned(out, key.base);
  bytes::PutSigned(out, key.cur);
  key.frozen.EncodeTo(out);
  bytes::PutVarint(out, key.ring ? key.nonzero : 0);
  if (!key.ring) return;
  for (int64_t s = mutable_begin_; s < mutable_begin_ + ring_size_; ++s) {
    const int32_t v = SlotValue(key, s);
    if (v == 0) continue;
    bytes::PutVarint(out, static_cast<uint64_t>(s - mutable_begin_));
    bytes::PutSigned(out, v);
  }
}

bool ViewerSeries::DecodeKey(std::string_view* in) {
  int64_t base, cur;
  uint64_t nonzero;
  Key key;
  if (!bytes::GetSigned(in, &base) || !bytes::GetSigned(in, &cur) || base < INT32_MIN ||
      base > INT32_MAX || cur < INT32_MIN || cur > INT32_MAX || !key.frozen.DecodeFrom(in) ||
      !key.frozen.started() || key.frozen.end() > mutable_begin_ ||
      !bytes::GetCount(in, static_cast<uint64_t>(ring_size_), &nonzero)) {
    return false;
  }
  key.base = static_cast<int32_t>(base);
  key.cur = static_cast<int32_t>(cur);
  keys_.push_back(std::move(key));
  const KeyId k = static_cast<KeyId>(keys_.size() - 1);
  if (nonzero == 0) return keys_[k].base == keys_[k].cur;
  Activate(k);
  Key& added = keys_[k];
  int64_t prev = -1;
  for (uint64_t i = 0; i < nonzero; ++i) {
    uint64_t offset;
    int64_t v;
    if (!bytes::GetVarint(in, &offset) || !bytes::GetSigned(in, &v) ||
        offset >= static_cast<uint64_t>(ring_size_) || static_cast<int64_t>(offset) <= prev ||
        v == 0 || v < INT32_MIN || v > INT32_MAX) {
      return false;
    }
    prev = static_cast<int64_t>(offset);
    Slot(added, mutable_begin_ + prev) = static_cast<int32_t>(v);
  }
  added.nonzero = static_cast<uint32_t>(nonzero);
  int64_t expect = added.base;  // cur must be base plus the differences up to as_of
  for (int64_t s = mutable_begin_; s <= as_of_ && s < mutable_begin_ + ring_size_; ++s) {
    expect += SlotValue(added, s);
  }
  return expect == added.cur;
}

}  // namespace viewpipe::ops
