#include "ops/frozen_series.h"

#include <algorithm>
#include <bit>

#include "common/status.h"
#include "ops/bytes.h"
#include "ops/time_math.h"

namespace viewpipe::ops {
namespace {

// Differences of int32 values zigzag to at most 33 bits.
constexpr int kMaxWidth = 40;


void EncodeBlock(const int32_t* v, int64_t n, std::string* out) {
  bytes::PutVarint(out, bytes::ZigZag(v[0]));
  uint64_t all = 0;
  for (int64_t i = 1; i < n; ++i) all |= bytes::ZigZag(static_cast<int64_t>(v[i]) - v[i - 1]);
  const int w = std::bit_width(all);
  out->push_back(static_cast<char>(w));
  if (w == 0) return;
  uint64_t acc = 0;
  int bits = 0;
  for (int64_t i = 1; i < n; ++i) {
    acc |= bytes::ZigZag(static_cast<int64_t>(v[i]) - v[i - 1]) << bits;
    bits += w;
    while (bits >= 8) {
      out->push_back(static_cast<char>(acc & 0xFF));
      acc >>= 8;
      bits -= 8;
    }
  }
  if (bits > 0) out->push_back(static_cast<char>(acc & 0xFF));
}

// Reads the header of the block at *p; returns its payload size.
size_t BlockHeader(std::string_view* p, int64_t* first, int* width) {
  uint64_t z = 0;
  uint8_t w = 0;
  bool ok = bytes::GetVarint(p, &z) && bytes::GetU8(p, &w) && w <= kMaxWidth;
  VP_CHECK(ok, "frozen series block is damaged");
  *first = bytes::UnZigZag(z);
  *width = w;
  return (59 * static_cast<size_t>(w) + 7) / 8;
}

}  // namespace

void FrozenSeries::Start(int64_t second) {
  started_ = true;
  begin_ = second;
  end_ = second - FloorMod(second, kHour);
  if (end_ < second) Append(0, second - end_);
}

void FrozenSeries::FinishBlock() {
  EncodeBlock(block_, kBlock, &cur_blocks_);
  if (FloorMod(end_, kHour) == 0) FinishHour();
}

void FrozenSeries::FinishHour() {
  if (cur_nonzero_) hours_.push_back(Hour{FloorDiv(end_ - 1, kHour), std::move(cur_blocks_)});
  cur_blocks_.clear();
  cur_nonzero_ = false;
}

void FrozenSeries::Append(int32_t v, int64_t count) {
  while (count > 0) {
    const int64_t in_hour = FloorMod(end_, kHour);
    if (in_hour == 0 && v == 0 && count >= kHour) {  // whole zero hours: nothing stored
      const int64_t n = count - count % kHour;
      end_ += n;
      count -= n;
      continue;
    }
    if (v != 0) cur_nonzero_ = true;
    const int64_t in_block = FloorMod(end_, kBlock);
    if (in_block == 0 && count >= kBlock) {  // a whole constant block
      std::fill(block_, block_ + kBlock, v);
      end_ += kBlock;
      count -= kBlock;
      FinishBlock();
      continue;
    }
    block_[in_block] = v;
    ++end_;
    --count;
    if (in_block + 1 == kBlock) FinishBlock();
  }
}

int32_t FrozenSeries::ReadBlock(std::string_view blocks, int64_t block, int64_t index) {
  int64_t first;
  int w;
  for (int64_t b = 0; b < block; ++b) blocks.remove_prefix(BlockHeader(&blocks, &first, &w));
  const size_t payload = BlockHeader(&blocks, &first, &w);
  VP_CHECK(blocks.size() >= payload, "frozen series block is truncated");
  int64_t value = first;
  if (w == 0) return static_cast<int32_t>(value);
  const uint64_t mask = (uint64_t{1} << w) - 1;
  uint64_t acc = 0;
  int bits = 0;
  size_t pos = 0;
  for (int64_t i = 1; i <= index; ++i) {
    while (bits < w) {
      acc |= static_cast<uint64_t>(static_cast<uint8_t>(blocks[pos++])) << bits;
      bits += 8;
    }
    value += bytes::UnZigZag(acc & mask);
    acc >>= w;
    bits -= w;
  }
  return static_cast<int32_t>(value);
}

int32_t FrozenSeries::At(int64_t second) const {
  VP_CHECK(second < end_, "frozen series read past its end");
  if (!started_ || second < begin_) return 0;
  const int64_t hour = FloorDiv(second, kHour);
  const int64_t block = FloorMod(second, kHour) / kBlock;
  const int64_t index = FloorMod(second, kBlock);
  if (hour == FloorDiv(end_, kHour)) {  // the hour being filled
    if (block == FloorMod(end_, kHour) / kBlock) return block_[index];
    return ReadBlock(cur_blocks_, block, index);
  }
  auto it = std::lower_bound(hours_.begin(), hours_.end(), hour,
                             [](const Hour& h, int64_t x) { return h.hour < x; });
  if (it == hours_.end() || it->hour != hour) return 0;
  return ReadBlock(it->blocks, block, index);
}

void FrozenSeries::DropBefore(int64_t second) {
  const int64_t hour = FloorDiv(second, kHour);
  auto it = std::lower_bound(hours_.begin(), hours_.end(), hour,
                             [](const Hour& h, int64_t x) { return h.hour < x; });
  hours_.erase(hours_.begin(), it);
}

size_t FrozenSeries::MemoryBytes() const {
  size_t bytes = sizeof(*this) + hours_.capacity() * sizeof(Hour);
  for (const Hour& h : hours_) bytes += h.blocks.capacity() > 15 ? h.blocks.capacity() : 0;
  if (cur_blocks_.capacity() > 15) bytes += cur_blocks_.capacity();
  return bytes;
}

void FrozenSeries::EncodeTo(std::string* out) const {
  bytes::PutU8(out, started_ ? 1 : 0);
  if (!started_) return;
  bytes::PutSigned(out, begin_);
  bytes::PutSigned(out, end_);
  bytes::PutVarint(out, hours_.size());
  for (const Hour& h : hours_) {
    bytes::PutSigned(out, h.hour);
    bytes::PutString(out, h.blocks);
  }
  bytes::PutString(out, cur_blocks_);
  bytes::PutU8(out, cur_nonzero_ ? 1 : 0);
  for (int64_t i = 0; i < FloorMod(end_, kBlock); ++i) bytes::PutSigned(out, block_[i]);
}

bool FrozenSeries::DecodeFrom(std::string_view* in) {
  *this = FrozenSeries();
  uint8_t started;
  if (!bytes::GetU8(in, &started) || started > 1) return false;
  if (started == 0) return true;
  started_ = true;
  uint64_t hours;
  if (!bytes::GetSigned(in, &begin_) || !bytes::GetSigned(in, &end_) || end_ < begin_ ||
      !bytes::GetCount(in, in->size(), &hours)) {
    return false;
  }
  // Blocks are checked here once so At() can trust them.
  auto valid_blocks = [](std::string_view b, int64_t n) {
    for (int64_t i = 0; i < n; ++i) {
      uint64_t z;
      uint8_t w;
      if (!bytes::GetVarint(&b, &z) || !bytes::GetU8(&b, &w) || w > kMaxWidth) return false;
      const size_t payload = (59 * static_cast<size_t>(w) + 7) / 8;
      if (b.size() < payload) return false;
      b.remove_prefix(payload);
    }
    return b.empty();
  };
  int64_t prev = INT64_MIN;
  for (uint64_t i = 0; i < hours; ++i) {
    Hour h;
    std::string_view blocks;
    if (!bytes::GetSigned(in, &h.hour) || !bytes::GetString(in, &blocks) || h.hour <= prev ||
        h.hour >= FloorDiv(end_, kHour) || !valid_blocks(blocks, kHour / kBlock)) {
      return false;
    }
    prev = h.hour;
    h.blocks.assign(blocks);
    hours_.push_back(std::move(h));
  }
  std::string_view cur;
  uint8_t nonzero;
  if (!bytes::GetString(in, &cur) || !bytes::GetU8(in, &nonzero) || nonzero > 1 ||
      !valid_blocks(cur, FloorMod(end_, kHour) / kBlock)) {
    return false;
  }
  cur_blocks_.assign(cur);
  cur_nonzero_ = nonzero != 0;
  for (int64_t i = 0; i < FloorMod(end_, kBlock); ++i) {
    int64_t v;
    if (!bytes::GetSigned(in, &v) || v < INT32_MIN || v > INT32_MAX) return false;
    block_[i] = static_cast<int32_t>(v);
  }
  return true;
}

}  // namespace viewpipe::ops
