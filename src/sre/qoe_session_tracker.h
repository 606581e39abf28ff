#pragma once
// QoeSessionTracker: the per-session state machine of events.md's QoE
// definitions (sessions keyed by session_id), adding what each event means
// to the open windows of its event time.
//
// Attribution (docs/sre.md):
// - attempts at the attempt's ts; VST and plays at play_start's ts.
// - outcomes at the event that decides them: VSF at the fatal error, EBVS at
//   the stop, or at last event + session timeout for a session that went
//   silent before play_start; playback failure at the fatal error; the rates
//   divide by attempts (ended plays) of the same window.
// - playing time: from play_start / resume / rebuffer_end to the session's
//   next event (any: heartbeat, seek, bitrate_change, ...; capped at the
//   session timeout), until pause, rebuffer_start, stop or a fatal error
//   leave the playing state. Paused and stalled time never counts as
//   playing; a seek does not change the state.
// - stalled time: rebuffer_ms of rebuffer_end (clamped to max_rebuffer_ms),
//   spread over [ts - rebuffer_ms, ts), so a stall across windows counts in
//   each window for its part.
// - bitrate: heartbeats with bitrate_kbps, at the heartbeat's ts.
// A session first seen without attempt (its start is before the log) counts
// nothing for starts, and is taken as playing from a heartbeat, resume,
// rebuffer_end or bitrate_change, paused from a pause.
//
// Not thread safe.

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

#include "event/event.h"
#include "sre/open_windows.h"
#include "sre/sre_options.h"

namespace viewpipe::sre {

class QoeSessionTracker {
 public:
  struct Stats {
    uint64_t events = 0;
    uint64_t late_contributions = 0;  // to a window already closed (series amended)
    uint64_t absurd_startup = 0;
    uint64_t absurd_rebuffer = 0;
    uint64_t absurd_bitrate = 0;
    uint64_t timeouts = 0;
  };

  // windows must outlive the tracker.
  QoeSessionTracker(const QoeOptions& options, OpenWindows* windows);

  void Apply(const EventView& e);
  // Ends every session whose last event is at least the session timeout
  // before t (an EBVS if it never started), and forgets ended ones.
  void ExpireBefore(int64_t t);
  size_t sessions() const { return sessions_.size(); }
  // The checkpoint (sre_codec.h): sessions and stats. Load replaces them;
  // false when the input is malformed.
  void Save(std::string* out) const;
  bool Load(std::string_view* in);
  const Stats& stats() const { return stats_; }

 private:
  enum class Phase : uint8_t { kUnknown, kStarting, kPlaying, kPaused, kStalled, kEnded };
  struct Session {
    std::array<GroupKey, kQoeDims> groups;
    Phase phase = Phase::kUnknown;
    bool attempted = false;
    bool started = false;
    int64_t last_ts = INT64_MIN;
    int64_t mark_ts = 0;  // start of the current playing span
  };

  Session& Find(const EventView& e);
  void CountPlaying(Session& s, int64_t ts);
  void OnPlayStart(Session& s, const EventView& e);
  void OnRebufferEnd(Session& s, const EventView& e);
  void OnHeartbeat(Session& s, const EventView& e);
  void OnEnd(Session& s, const EventView& e);
  template <typename F>
  void At(int64_t ts, Session& s, F&& f) {
    if (!windows_->AddAt(ts, s.groups, f)) ++stats_.late_contributions;
  }
  void StartPlaying(Session& s, int64_t ts);

  QoeOptions options_;
  OpenWindows* windows_;
  std::unordered_map<std::string, Session> sessions_;
  Stats stats_;
};

}  // namespace viewpipe::sre
