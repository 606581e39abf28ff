#pragma once
// PartitionQoe: the SRE path's QoE state of ONE partition of `qoe` (the sre
// group, docs/scale.md "The sre path as several processes"): its sessions,
// open 10 s windows, the 1 s slices the detector reads, and the closed
// 10 s / 1 min / 5 min series. The same pieces SreState keeps for all
// partitions, without the detector: a session's events all sit in one
// partition (key session_id), and every count in QoeCounts is a sum or an
// exact histogram, so the sum over partitions of their windows, slices
// and series is what one SreState over the whole topic holds.
//
// Slices are kept slice_keep_ms behind the watermark (not pruned at the
// detector's tick as SreState does): the detector runs elsewhere and reads
// them over HTTP, possibly behind this partition.
//
// Not thread safe (SreShards guards it).

#include <cstdint>
#include <map>
#include <optional>

#include "common/status.h"
#include "event/event.h"
#include "ops/checkpoint_file.h"
#include "sre/open_windows.h"
#include "sre/qoe_session_tracker.h"
#include "sre/recent_slices.h"
#include "sre/sre_options.h"
#include "sre/window_series.h"

namespace viewpipe::sre {

class PartitionQoe {
 public:
  static constexpr int64_t kNothingPruned = RecentSlices::kNothingPruned;
  PartitionQoe(const SreOptions& options, int64_t slice_keep_ms);
  PartitionQoe(const PartitionQoe&) = delete;
  PartitionQoe& operator=(const PartitionQoe&) = delete;

  void Apply(const EventView& e);
  // As SreState::AdvanceWatermark: amends the series with late
  // contributions, closes the windows the watermark completes (ending
  // silent sessions first), then prunes slices older than slice_keep_ms.
  void AdvanceWatermark(int64_t watermark);

  std::optional<int64_t> watermark() const { return watermark_; }
  int64_t closed_through() const { return windows_.closed_through(); }
  // Slices starting before this were pruned (kNothingPruned: none).
  int64_t slices_from() const { return pruned_before_; }
  // Copies of the slices starting in [from, to).
  std::map<int64_t, GroupCounts> Slices(int64_t from, int64_t to) const;
  // The series of step 10 s, 1 min or 5 min (the finest at least step_ms).
  const WindowSeries& SeriesOf(int64_t step_ms) const;
  QoeSessionTracker::Stats stats() const { return tracker_.stats(); }
  size_t sessions() const { return tracker_.sessions(); }

  // The checkpoint: kSections sections of kinds first_kind, first_kind+1...
  // Load on a fresh object; Corruption for damaged input or other options.
  static constexpr uint8_t kSections = 7;
  Status Save(ops::CheckpointWriter* w, uint8_t first_kind) const;
  Status Load(ops::CheckpointReader* r, uint8_t first_kind);

 private:
  void CloseWindows(int64_t limit);
  void AddClosed(int64_t start, const GroupCounts& counts);

  SreOptions options_;
  int64_t slice_keep_ms_;
  RecentSlices slices_;
  OpenWindows windows_;
  QoeSessionTracker tracker_;
  WindowSeries s10_, s60_, s300_;
  std::optional<int64_t> watermark_;
  int64_t pruned_before_ = kNothingPruned;
};

}  // namespace viewpipe::sre
