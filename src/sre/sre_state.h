#pragma once
// SreState: the SRE path's state — sessions, open 10 s windows, the closed
// windows at 10 s / 1 min / 5 min, and the outage detector — behind one
// mutex: the consumer thread applies events and moves the watermark, HTTP
// threads read.
//
// Every tick_ms of watermark (event time) the detector is evaluated over
// the trailing slices (recent_slices.h), partial newest data included.
//
// Windows close on the watermark: window [s, s + 10 s) closes once the
// watermark reaches s + 10 s + lateness_ms. Before each window closes,
// sessions silent for the session timeout are ended (their EBVS lands in
// that window), then the window goes to the series and the detector. Later
// contributions to it still amend the series (at the next
// AdvanceWatermark), not the detector's verdicts (unless still in its span).

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "common/clock.h"
#include "common/status.h"
#include "event/event.h"
#include "ops/checkpoint_file.h"
#include "sre/alert_book.h"
#include "sre/open_windows.h"
#include "sre/outage_detector.h"
#include "sre/qoe_session_tracker.h"
#include "sre/recent_slices.h"
#include "sre/sre_options.h"
#include "sre/window_series.h"

namespace viewpipe::sre {

struct QoeReading {
  int64_t as_of = 0;  // end of the newest closed window (exclusive)
  int64_t from = 0;   // start of the range read
  int64_t step_ms = 0;
  QoeCounts total;
  std::map<std::string, QoeCounts> groups;
};

class SreState {
 public:
  // book and clock must outlive the state.
  SreState(const SreOptions& options, AlertBook* book, Clock* clock);

  // Consumer thread.
  void Apply(const EventView& e);
  // Amends the series with late contributions, then closes the windows the
  // watermark (event time, ms) completes.
  void AdvanceWatermark(int64_t watermark);

  // Any thread. nullopt before the first window closed.
  std::optional<QoeReading> Read(std::optional<QoeDim> dim, int64_t window_ms) const;
  // One group's counts per step_ms bucket over the last range_ms.
  std::map<int64_t, QoeCounts> Series(const GroupKey& g, int64_t step_ms, int64_t range_ms) const;
  std::optional<int64_t> watermark() const;
  int64_t closed_through() const;
  QoeSessionTracker::Stats stats() const;
  size_t sessions() const;
  const SreOptions& options() const { return options_; }

  // The checkpoint: the whole state in sections of kinds first_kind,
  // first_kind + 1, ... (sre_processor.h writes them after its own). Load
  // reads them back in the same order and replaces the state; on any error
  // the state is empty again (as constructed) and the error is returned
  // (r null: just empties it).
  static constexpr uint8_t kSections = 8;
  Status Save(ops::CheckpointWriter* w, uint8_t first_kind) const;
  Status Load(ops::CheckpointReader* r, uint8_t first_kind);

 private:
  const WindowSeries& SeriesFor(int64_t range_ms) const;
  void CloseWindows(int64_t limit);
  void RunTicks(int64_t watermark);
  Status LoadLocked(ops::CheckpointReader* r, uint8_t first_kind);
  void ClearLocked();

  SreOptions options_;
  AlertBook* book_;
  Clock* clock_;
  mutable std::mutex mu_;
  RecentSlices slices_;
  OpenWindows windows_;
  QoeSessionTracker tracker_;
  WindowSeries s10_, s60_, s300_;
  OutageDetector detector_;
  std::optional<int64_t> watermark_;
  int64_t next_tick_ = OutageDetector::kNever;
  int64_t last_partial_ = OutageDetector::kNever;  // not checkpointed: live only
};

}  // namespace viewpipe::sre
