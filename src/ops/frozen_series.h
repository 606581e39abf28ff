#pragma once
// FrozenSeries: one key's viewers per second for seconds that can no longer
// change, compressed for a day of history.
//
// Seconds are grouped in hours (3600 s, aligned to the epoch) of 60 blocks
// of 60 seconds. A block is varint(zigzag(first value)), one byte w, then
// the 59 differences to the previous second as zigzag values of w bits,
// packed LSB first (w = 0: the block is constant, 2-6 bytes). Finished hours
// whose values are all zero are not stored at all. A key whose count is
// steady costs a few bytes a minute; one that moves by a few viewers every
// second about 30 bytes a minute.
//
// Not thread safe: the ops state's lock guards it (concurrent At() calls are
// fine while nothing appends).

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace viewpipe::ops {

class FrozenSeries {
 public:
  // Values start at `second` (earlier seconds read as 0).
  void Start(int64_t second);
  bool started() const { return started_; }
  int64_t begin() const { return begin_; }
  // One past the last second appended.
  int64_t end() const { return end_; }
  // Appends `count` seconds of value v at end(). REQUIRES started().
  void Append(int32_t v, int64_t count);
  // The value at second; 0 before begin() or in dropped hours.
  // REQUIRES second < end().
  int32_t At(int64_t second) const;
  // Frees whole hours before second.
  void DropBefore(int64_t second);
  size_t MemoryBytes() const;

  void EncodeTo(std::string* out) const;
  bool DecodeFrom(std::string_view* in);

 private:
  static constexpr int64_t kBlock = 60;
  static constexpr int64_t kHour = 3600;
  struct Hour {
    int64_t hour = 0;  // second / 3600
    std::string blocks;
  };
  void FinishBlock();
  void FinishHour();
  static int32_t ReadBlock(std::string_view blocks, int64_t block, int64_t index);

  bool started_ = false;
  int64_t begin_ = 0;
  int64_t end_ = 0;
  std::vector<Hour> hours_;  // finished hours with a non-zero value, ascending
  std::string cur_blocks_;   // finished blocks of the hour holding end_
  bool cur_nonzero_ = false;
  int32_t block_[kBlock] = {};  // the block holding end_: values before end_
};

}  // namespace viewpipe::ops
