#pragma once
// RecentSlices: the newest stretch of event time in short slices (2 s by
// default) for the outage detector, beside the 10 s windows. Unlike a
// window, a slice is never closed: every contribution, in order or late,
// adds to it while it is inside the detector's trailing span, so each
// evaluation sees all the data that has arrived for that span (including
// the open, partial part). Slices older than the span are pruned; a
// contribution to a pruned slice only reaches the 10 s series.
//
// Not thread safe.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "sre/qoe_group.h"

namespace viewpipe::sre {

class RecentSlices {
 public:
  static constexpr int64_t kNothingPruned = INT64_MIN;
  explicit RecentSlices(int64_t slice_ms) : slice_ms_(slice_ms) {}

  int64_t SliceOf(int64_t ts) const;
  // The counts of the slice of ts, or nullptr when it was pruned.
  GroupCounts* At(int64_t ts);
  // Drops the slices starting before t.
  void PruneBefore(int64_t t);
  // Slices with start in [from, to), by start.
  std::map<int64_t, const GroupCounts*> Range(int64_t from, int64_t to) const;
  // Start of the oldest slice kept, if any.
  std::optional<int64_t> first() const {
    if (slices_.empty()) return std::nullopt;
    return slices_.begin()->first;
  }
  int64_t slice_ms() const { return slice_ms_; }
  // The checkpoint (sre_codec.h); Load replaces the slices, false when the
  // input is malformed.
  void Save(std::string* out) const;
  bool Load(std::string_view* in);

 private:
  int64_t slice_ms_;
  int64_t pruned_before_ = kNothingPruned;
  std::map<int64_t, GroupCounts> slices_;
};

}  // namespace viewpipe::sre
