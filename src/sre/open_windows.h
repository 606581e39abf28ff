#pragma once
// OpenWindows: the 10 s event-time windows that may still change. Sessions
// add to them (QoeSessionTracker); CloseThrough hands the windows that end
// at or before a limit (watermark - lateness) over, in order, to the
// detector and the series. A contribution to a window already closed is
// late: it is kept aside (TakeLate) so the stored series are amended with
// it (their numbers do not depend on when the data arrived), while the
// detector has already judged the window without it.
//
// Not thread safe.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sre/qoe_group.h"
#include "sre/recent_slices.h"

namespace viewpipe::sre {

class OpenWindows {
 public:
  static constexpr int64_t kNothingClosed = INT64_MIN;
  explicit OpenWindows(int64_t window_ms) : window_ms_(window_ms) {}
  // Every contribution also goes to these slices (the detector's view);
  // must outlive this.
  void AttachSlices(RecentSlices* slices) { slices_ = slices; }

  int64_t WindowOf(int64_t ts) const;
  // Applies f(QoeCounts&) to each group of dims in the window of ts. False
  // when that window is closed (then it goes to the late counts).
  template <typename F>
  bool AddAt(int64_t ts, const std::array<GroupKey, kQoeDims>& groups, F&& f) {
    GroupCounts* w = Window(ts);
    const bool open = w != nullptr;
    if (!open) w = &late_[WindowOf(ts)];
    for (const GroupKey& g : groups) f((*w)[g]);
    if (GroupCounts* s = slices_ != nullptr ? slices_->At(ts) : nullptr) {
      for (const GroupKey& g : groups) f((*s)[g]);
    }
    return open;
  }
  // Spreads the span [from, to) over the windows it crosses: f(counts, ms)
  // with the part of the span inside each window. Returns the ms that fell
  // into closed windows (late).
  template <typename F>
  int64_t AddSpan(int64_t from, int64_t to, const std::array<GroupKey, kQoeDims>& groups, F&& f) {
    int64_t dropped = 0;
    while (from < to) {
      int64_t end = std::min(to, WindowOf(from) + window_ms_);
      if (slices_ != nullptr) end = std::min(end, slices_->SliceOf(from) + slices_->slice_ms());
      const int64_t part = end - from;
      if (!AddAt(from, groups, [&](QoeCounts& c) { f(c, part); })) dropped += part;
      from = end;
    }
    return dropped;
  }

  // Closes every window ending at or before limit, oldest first, each with
  // its start; windows without data between the first and the last are
  // included (empty), so a group that went silent shows up as such.
  std::vector<std::pair<int64_t, GroupCounts>> CloseThrough(int64_t limit);
  // The late contributions since the last call, per window start.
  std::map<int64_t, GroupCounts> TakeLate() { return std::exchange(late_, {}); }
  // Windows starting before this are closed; kNothingClosed at first.
  int64_t closed_through() const { return closed_through_; }
  int64_t window_ms() const { return window_ms_; }
  size_t open_windows() const { return open_.size(); }
  // Start of the oldest open window with data, if any.
  // The checkpoint (sre_codec.h); Load replaces the windows (not the
  // attached slices), false when the input is malformed.
  void Save(std::string* out) const;
  bool Load(std::string_view* in);
  std::optional<int64_t> first_open() const {
    if (open_.empty()) return std::nullopt;
    return open_.begin()->first;
  }

 private:
  GroupCounts* Window(int64_t ts);

  int64_t window_ms_;
  RecentSlices* slices_ = nullptr;
  int64_t closed_through_ = kNothingClosed;
  std::map<int64_t, GroupCounts> open_;
  std::map<int64_t, GroupCounts> late_;
};

}  // namespace viewpipe::sre
