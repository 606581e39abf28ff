#pragma once
// WindowSeries: closed QoE windows at one resolution (10 s, 1 min or 5 min),
// kept for a retention period. Closed 10 s windows are merged into the
// bucket of their start; reads merge the buckets of a range.
//
// Not thread safe (QoeStore guards it).

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "sre/qoe_group.h"

namespace viewpipe::sre {

class WindowSeries {
 public:
  WindowSeries(int64_t step_ms, int64_t keep_ms) : step_ms_(step_ms), keep_ms_(keep_ms) {}

  // Adds a closed window starting at start (into the bucket holding it) and
  // drops buckets older than keep_ms before it.
  void Add(int64_t start, const GroupCounts& counts);
  // The groups of dimension dim (kTotal: the total only) merged over the
  // buckets starting in [from, to).
  std::map<std::string, QoeCounts> Range(QoeDim dim, int64_t from, int64_t to) const;
  // One group's counts per bucket in [from, to) (buckets without it are absent).
  std::map<int64_t, QoeCounts> Series(const GroupKey& g, int64_t from, int64_t to) const;
  int64_t step_ms() const { return step_ms_; }
  int64_t keep_ms() const { return keep_ms_; }
  // Start of the oldest bucket kept, if any.
  std::optional<int64_t> oldest() const;
  // The checkpoint (sre_codec.h); Load replaces the buckets, false when the
  // input is malformed.
  void Save(std::string* out) const;
  bool Load(std::string_view* in);

 private:
  int64_t step_ms_;
  int64_t keep_ms_;
  std::map<int64_t, GroupCounts> buckets_;
};

}  // namespace viewpipe::sre
