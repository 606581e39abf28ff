#pragma once
// SessionTracker: turns viewing events into concurrent viewers per second,
// exactly by the definition of events.md:
//
//   a session counts at time t (event time, ms) if it has an attempt or
//   play_start at or before t, its last event at or before t is not a stop
//   or an error with fatal=true, and t - (that event's ts) <= timeout;
//   second s is evaluated at t = s*1000 + 999.
//
// So each non-terminal event e of a started session contributes the times
// [max(e.ts, start), min(next event's ts - 1, e.ts + timeout)]: the seconds
// [floor(lo/1000), floor((hi+1)/1000)). Applying an event (in any order)
// replaces the contributions of the event before it and of the events whose
// start changed, and adds its own: a few +1/-1 differences per key of the
// session (the total and its five dimension values) in the ViewerSeries, so
// a late event corrects exactly the seconds it belongs to, and an event
// identical to one already applied (same ts and kind) changes nothing.
//
// A session's dimension values are those of the first event the tracker
// sees of it (log order); later events of the session do not move it.
// Events with the same ts: a terminal event counts as the last one.
//
// Time: the watermark (AdvanceWatermark, never back) sets
//   mutable_begin = floor((watermark - lateness) / 1000): seconds before it
//     are frozen; an event older than mutable_begin*1000 is "beyond the
//     bound": it still updates its session, and its changes to seconds >=
//     mutable_begin are applied, but not those to frozen seconds
//     (stats().late_beyond_bound counts such events);
//   as_of = the newest complete second: the last s with
//     s*1000 + 999 + complete_after <= watermark.
// Sessions keep their event times from the last one before mutable_begin
// on; a session idle for timeout + lateness (its last event before
// mutable_begin*1000 - timeout) is forgotten by EvictIdle. An event for a
// forgotten session starts a new one (which counts once it has a start).
//
// Not thread safe: OpsState guards it (one writer, readers under a shared
// lock).

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "event/event.h"
#include "ops/key_directory.h"
#include "ops/mark_trail.h"
#include "ops/ops_options.h"
#include "ops/session_table.h"
#include "ops/trail_slab.h"
#include "ops/viewer_series.h"

namespace viewpipe::ops {

class CheckpointWriter;
class CheckpointReader;

class SessionTracker {
 public:
  struct Stats {
    uint64_t events = 0;
    uint64_t late_beyond_bound = 0;  // events older than mutable_begin*1000
    uint64_t sessions_evicted = 0;
    uint64_t sessions_without_start = 0;  // created by an event that is not a start
    uint64_t trail_overflows = 0;  // marks dropped early (a session with > 4096 units)
    uint64_t watermark_jumps = 0;  // an event far ahead pushed the watermark
  };

  explicit SessionTracker(const TrackerOptions& options);
  SessionTracker(const SessionTracker&) = delete;
  SessionTracker& operator=(const SessionTracker&) = delete;

  // Applies one event. The first event ever starts the clock at its
  // WatermarkTime.
  void Apply(const EventView& e);
  // Moves the watermark (ms) forward; earlier values are ignored.
  void AdvanceWatermark(int64_t watermark_ms);
  // Looks at up to `budget` session slots (round robin): forgets idle
  // sessions and moves trails out of sparse slab pages (TrailSlab::Relocate).
  void EvictIdle(size_t budget);

  // The time an event vouches for: its ts, but never past the collector's
  // received_at (a client clock running fast must not move time ahead).
  static int64_t WatermarkTime(const EventView& e);

  bool has_time() const { return series_ != nullptr; }
  // REQUIRES has_time() for the ones below.
  int64_t watermark() const { return watermark_; }
  int64_t as_of() const { return series_->as_of(); }
  int64_t mutable_begin() const { return series_->mutable_begin(); }
  // The oldest second the series holds (>= 24 h before as_of once running
  // that long).
  int64_t kept_begin() const;

  const ViewerSeries& series() const { return *series_; }
  const KeyDirectory& keys() const { return keys_; }
  const TrackerOptions& options() const { return options_; }
  const Stats& stats() const { return stats_; }
  size_t sessions() const { return sessions_.size(); }
  // Bytes held by sessions (table, index and trails), and by everything.
  size_t SessionBytes() const;
  size_t MemoryBytes() const;

  // Checkpoint sections (checkpoint_file.h); Load requires a fresh tracker
  // and rejects a checkpoint written with other options.
  Status Save(CheckpointWriter* w) const;
  Status Load(CheckpointReader* r);

 private:
  static constexpr int64_t kNever = INT64_MAX;     // no start / no next event
  static constexpr int64_t kLongAgo = INT64_MIN;   // a start before every mark
  static constexpr int64_t kMaxSpanMs = int64_t{UINT32_MAX} - 2;

  void StartTime(int64_t watermark_ms);
  void EnsureHorizon(int64_t ts);
  Session* Create(uint64_t id, const EventView& e, const Mark& m, bool start);
  void Append(Session* s, const Mark& m, bool start);
  void Insert(Session* s, const Mark& m, bool start);
  void Store(Session* s, std::vector<Mark>* marks, int64_t start_ts);
  void MakeRoom(Session* s, size_t need);
  void DropFirst(Session* s);
  void MoveTrail(Session* s, size_t units);
  // The earliest start of s given its decoded marks (kNever: none).
  static int64_t StartTs(const Session& s, const std::vector<Mark>& marks);
  // The id of a dimension value kept in 16 bits (cdn, country, live, device).
  uint16_t SmallId(Dimension d, std::string_view name);
  uint16_t* Trail(const Session& s) {
    return slab_.At(s.trail_class, s.trail_slot);
  }
  // Adds sign x the contribution of mark m (next event at next_ts) to deltas_.
  void Emit(const Mark& m, int64_t next_ts, int64_t start_ts, int sign);
  // Applies deltas_ to the keys of s.
  void Flush(const Session& s);
  void Forget(Session* s);
  Status SaveSessions(CheckpointWriter* w) const;
  Status LoadSession(std::string_view* in);

  TrackerOptions options_;
  Stats stats_;
  int64_t watermark_ = 0;
  int64_t clip_ms_ = 0;  // mutable_begin * 1000
  int64_t first_second_ = 0;
  int64_t dropped_before_ = 0;  // frozen history before this second is gone
  std::unique_ptr<ViewerSeries> series_;
  KeyDirectory keys_;
  SessionTable sessions_;
  TrailSlab slab_;
  uint32_t evict_cursor_ = 0;
  std::vector<std::pair<int64_t, int32_t>> deltas_;  // (second, change)
  std::vector<Mark> marks_;                          // scratch of the slow path
};

}  // namespace viewpipe::ops
