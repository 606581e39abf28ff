#pragma once
// Session: one playback session's state while the simulator plays it, and
// SessionModel, the player lifecycle of events.md that moves it from event
// to event (attempt -> startup -> playing <-> paused / stalled -> stop,
// or a fatal error, an exit before start, or silence).

#include <cstdint>
#include <limits>

#include "sim/event_writer.h"
#include "sim/random.h"
#include "sim/timeline.h"
#include "sim/truth.h"

namespace viewpipe::sim {

enum class SessionState : uint8_t { kNew, kStarting, kPlaying, kPaused, kStalled };

// What happens at Session::next_action.
enum class Pending : uint8_t {
  kPlayStart,
  kStartFatal,
  kExitBeforeStart,
  kSilentBeforeStart,  // while starting
  kRandomAction,
  kBudgetEnd,  // while playing
  kResume,
  kStopWhilePaused,
  kSilentWhilePaused,  // while paused
  kRebufferEnd,
  kStopWhileStalled,  // while stalled
};

struct Session {
  uint64_t seq = 0;
  Rng rng;
  uint64_t variants = 0;
  int64_t attempt_ts = 0;
  int64_t next_hb = 0;
  int64_t next_action = 0;
  int64_t position_ms = 0;   // playhead at `since`
  int64_t since = 0;         // when the current state began
  int64_t budget_ms = 0;     // playing time left before the viewer stops
  int64_t budget_end = 0;    // while playing: when the budget runs out
  int64_t title_end_ms = 0;  // VOD: the title's length; 0 for live
  int64_t stall_ms = 0;      // planned stall length
  int64_t hard_end =
      std::numeric_limits<int64_t>::max();  // live: the viewer leaves by then whatever happens
  TruthSessionState truth;
  uint32_t profile = 0;
  uint32_t title = 0;
  uint32_t event_seq = 0;
  int32_t startup_ms = 0;
  uint8_t device = 0, country = 0, cdn = 0, isp = 0, os = 0, app_version = 0;
  uint8_t bitrate_idx = 0;
  uint16_t live_event = 0;  // 0 or 1 + live event index
  bool warm = false;        // already mid-title when the simulation began
  SessionState state = SessionState::kNew;
  Pending pending = Pending::kPlayStart;

  int64_t NextDue() const { return next_hb < next_action ? next_hb : next_action; }
};

// Emits a session's events one at a time. Stateless apart from its
// references; the timeline supplies outages and live-event ends.
class SessionModel {
 public:
  // All must outlive the model.
  SessionModel(const Timeline* timeline, const Catalog* catalog, const Population* population);

  // Emits the session's next event (due at s->NextDue()) into *e, or
  // nothing (returns false) when the viewer went silent; *ended tells that
  // the session is over. A new session (state kNew, attributes set,
  // next_hb = next_action = attempt_ts) first emits its attempt.
  bool Step(Session* s, SimEvent* e, bool* ended) const;

 private:
  // Decides how the session starts (outcome, startup time, how long the
  // viewer will watch) at its attempt time and fills *attempt.
  void Begin(Session* s, SimEvent* attempt) const;
  void FillEvent(const Session& s, int64_t ts, EventType type, SimEvent* e) const;
  int64_t PositionAt(const Session& s, int64_t t) const;
  void StartPlaying(Session* s, int64_t t) const;
  void LeavePlaying(Session* s, int64_t t) const;
  void ScheduleAction(Session* s, int64_t t) const;
  bool RandomAction(Session* s, int64_t t, SimEvent* e, bool* ended) const;

  const Timeline* timeline_;
  const Catalog* catalog_;
  const Population* population_;
};

}  // namespace viewpipe::sim
