#include "sim/session.h"

#include <algorithm>
#include <array>

namespace viewpipe::sim {
namespace {

constexpr double kPerMinute = 1.0 / 60000.0;
constexpr int64_t kHeartbeatMs = 10000;
// Median startup time per device type (tv, mobile, tablet, web, console, other).
constexpr std::array<double, 6> kStartupMedianMs = {1400, 1000, 1000, 800, 1200, 1500};

// How often things happen while playing, per ms.
struct Rates {
  double pause, seek, bitrate, rebuffer, error, fatal, abandon;
  double Total() const { return pause + seek + bitrate + rebuffer + error + fatal + abandon; }
};

Rates PlayingRates(const Conditions& c) {
  Rates r;
  r.pause = 0.05 * kPerMinute;
  r.seek = 0.06 * kPerMinute;
  r.bitrate = (0.4 + 3.0 * c.rebuffering) * kPerMinute;
  r.rebuffer = 0.05 * (1.0 + 40.0 * c.rebuffering) * kPerMinute;
  r.error = 0.02 * kPerMinute;
  r.fatal = (0.002 + 0.1 * c.start_failure + 0.05 * c.rebuffering) * kPerMinute;
  r.abandon = 0.004 * kPerMinute;
  return r;
}

}  // namespace

SessionModel::SessionModel(const Timeline* timeline, const Catalog* catalog,
                           const Population* population)
    : timeline_(timeline), catalog_(catalog), population_(population) {}

void SessionModel::FillEvent(const Session& s, int64_t ts, EventType type, SimEvent* e) const {
  *e = SimEvent();
  e->ts_ms = ts;
  e->session_seq = s.seq;
  e->event_seq = s.event_seq;
  e->type = type;
  e->profile = s.profile;
  e->title = s.title;
  e->device = s.device;
  e->country = s.country;
  e->cdn = s.cdn;
  e->isp = s.isp;
  e->os = s.os;
  e->app_version = s.app_version;
  e->live_event = s.live_event;
  e->variants = s.variants;
  e->position_ms = PositionAt(s, ts);
}

int64_t SessionModel::PositionAt(const Session& s, int64_t t) const {
  return s.state == SessionState::kPlaying ? s.position_ms + (t - s.since) : s.position_ms;
}

void SessionModel::Begin(Session* s, SimEvent* attempt) const {
  Rng& rng = s->rng;
  const int64_t live_end_ms =
      s->live_event > 0 ? timeline_->live_events()[s->live_event - 1].end_ms : 0;
  const bool warm = s->warm;
  const Conditions c = timeline_->ConditionsAt(s->cdn, s->country, s->attempt_ts);
  double startup = rng.LogNormal(kStartupMedianMs[s->device], 0.5) *
                   population_->StartupFactor(s->variants) * (1.0 + 3.0 * c.start_failure) *
                   (1.0 + 1.5 * c.rebuffering);
  s->startup_ms = static_cast<int32_t>(std::clamp(startup, 120.0, 60000.0));

  const Title& title = catalog_->at(s->title);
  s->title_end_ms = title.kind == TitleKind::kLive ? 0 : int64_t{title.duration_s} * 1000;
  s->position_ms = 0;
  if (s->title_end_ms > 0 && (warm || rng.Chance(0.35))) {
    s->position_ms =
        static_cast<int64_t>(rng.Uniform(0.05, 0.9) * static_cast<double>(s->title_end_ms));
  }
  double budget = rng.LogNormal(22 * 60000.0, 0.9) * population_->WatchTimeFactor(s->variants);
  s->budget_ms = static_cast<int64_t>(std::clamp(budget, 20000.0, 4 * 3600000.0));
  if (live_end_ms > 0) {
    // Live viewers leave within 90 s of the end, whatever they are doing.
    s->hard_end = live_end_ms + rng.Between(0, 90000);
  }
  const auto& ladder = Population::Ladder(s->device);
  s->bitrate_idx = static_cast<uint8_t>(c.rebuffering > 0 ? 0 : ladder.size() / 2);

  s->state = SessionState::kStarting;
  s->since = s->attempt_ts;
  s->next_hb = s->attempt_ts + kHeartbeatMs;
  const double p_fatal = 0.006 + c.start_failure + 0.1 * c.rebuffering;
  const double p_exit = 0.015 + 0.25 * std::clamp((startup - 2000.0) / 10000.0, 0.0, 1.0);
  const double p_silent = 0.003;
  const double u = rng.Uniform();
  const double startup_d = s->startup_ms;
  if (u < p_fatal) {
    s->pending = Pending::kStartFatal;
    s->next_action = s->attempt_ts + 200 +
                     static_cast<int64_t>(rng.Uniform(0.2, 1.0) * std::min(startup_d, 10000.0));
  } else if (u < p_fatal + p_exit) {
    s->pending = Pending::kExitBeforeStart;
    s->next_action = s->attempt_ts + static_cast<int64_t>(rng.Uniform(0.25, 0.95) * startup_d);
  } else if (u < p_fatal + p_exit + p_silent) {
    s->pending = Pending::kSilentBeforeStart;
    s->next_action = s->attempt_ts + static_cast<int64_t>(rng.Uniform(0.2, 0.9) * startup_d);
  } else {
    s->pending = Pending::kPlayStart;
    s->next_action = s->attempt_ts + s->startup_ms;
  }
  FillEvent(*s, s->attempt_ts, EventType::kAttempt, attempt);
  ++s->event_seq;
}

void SessionModel::StartPlaying(Session* s, int64_t t) const {
  s->state = SessionState::kPlaying;
  s->since = t;
  int64_t left = s->budget_ms;
  if (s->title_end_ms > 0)
    left = std::min(left, std::max<int64_t>(0, s->title_end_ms - s->position_ms));
  s->budget_end = std::min(t + left, s->hard_end);
  ScheduleAction(s, t);
}

void SessionModel::LeavePlaying(Session* s, int64_t t) const {
  const int64_t played = t - s->since;
  s->position_ms += played;
  s->budget_ms = std::max<int64_t>(0, s->budget_ms - played);
  s->since = t;
}

void SessionModel::ScheduleAction(Session* s, int64_t t) const {
  const Rates r = PlayingRates(timeline_->ConditionsAt(s->cdn, s->country, t));
  const int64_t next = t + static_cast<int64_t>(s->rng.Exponential(1.0 / r.Total()));
  if (next >= s->budget_end) {
    s->pending = Pending::kBudgetEnd;
    s->next_action = std::max(t, s->budget_end);
  } else {
    s->pending = Pending::kRandomAction;
    s->next_action = next;
  }
}

bool SessionModel::Step(Session* s, SimEvent* e, bool* ended) const {
  *ended = false;
  Rng& rng = s->rng;
  if (s->state == SessionState::kNew) {
    Begin(s, e);
    return true;
  }
  if (s->next_hb <= s->next_action) {
    const int64_t t = s->next_hb;
    FillEvent(*s, t, EventType::kHeartbeat, e);
    if (s->state != SessionState::kStarting) {
      e->bitrate_kbps = Population::Ladder(s->device)[s->bitrate_idx];
    }
    s->next_hb += kHeartbeatMs;
    // Outages begin and end: draw the next action under today's conditions
    // (memoryless, so redrawing does not bias the rates).
    if (s->state == SessionState::kPlaying && s->pending == Pending::kRandomAction) {
      ScheduleAction(s, t);
    }
    ++s->event_seq;
    return true;
  }
  const int64_t t = s->next_action;
  const bool start_outage = timeline_->ConditionsAt(s->cdn, s->country, t).start_outage;
  bool produced = true;
  switch (s->pending) {
    case Pending::kPlayStart:
      FillEvent(*s, t, EventType::kPlayStart, e);
      e->startup_ms = s->startup_ms;
      e->bitrate_kbps = Population::Ladder(s->device)[s->bitrate_idx];
      StartPlaying(s, t);
      break;
    case Pending::kStartFatal:
      FillEvent(*s, t, EventType::kError, e);
      if (start_outage) {
        e->error_code = rng.Chance(0.6) ? kErrManifest5xx : kErrCdnTimeout;
      } else {
        e->error_code = static_cast<int8_t>(rng.Below(kErrNoRendition + 1));
      }
      e->fatal = true;
      *ended = true;
      break;
    case Pending::kExitBeforeStart:
    case Pending::kStopWhilePaused:
    case Pending::kStopWhileStalled:
      FillEvent(*s, t, EventType::kStop, e);
      *ended = true;
      break;
    case Pending::kSilentBeforeStart:
    case Pending::kSilentWhilePaused:
      produced = false;
      *ended = true;
      break;
    case Pending::kBudgetEnd:
      LeavePlaying(s, t);
      if (rng.Chance(0.07)) {  // the app was closed without a stop
        produced = false;
      } else {
        FillEvent(*s, t, EventType::kStop, e);
      }
      *ended = true;
      break;
    case Pending::kResume:
      FillEvent(*s, t, EventType::kResume, e);
      StartPlaying(s, t);
      break;
    case Pending::kRebufferEnd:
      FillEvent(*s, t, EventType::kRebufferEnd, e);
      e->rebuffer_ms = static_cast<int32_t>(t - s->since);
      StartPlaying(s, t);
      break;
    case Pending::kRandomAction:
      produced = RandomAction(s, t, e, ended);
      break;
  }
  if (produced) ++s->event_seq;
  return produced;
}

bool SessionModel::RandomAction(Session* s, int64_t t, SimEvent* e, bool* ended) const {
  Rng& rng = s->rng;
  const Conditions c = timeline_->ConditionsAt(s->cdn, s->country, t);
  const Rates r = PlayingRates(c);
  double x = rng.Uniform() * r.Total();
  const auto& ladder = Population::Ladder(s->device);
  if ((x -= r.pause) < 0) {
    LeavePlaying(s, t);
    FillEvent(*s, t, EventType::kPause, e);
    s->state = SessionState::kPaused;
    const int64_t pause =
        static_cast<int64_t>(std::clamp(rng.LogNormal(40000, 1.0), 2000.0, 1800000.0));
    const double u = rng.Uniform();
    s->pending = u < 0.12   ? Pending::kStopWhilePaused
                 : u < 0.15 ? Pending::kSilentWhilePaused
                            : Pending::kResume;
    s->next_action = t + pause;
    if (s->next_action >= s->hard_end) {
      s->pending = Pending::kStopWhilePaused;
      s->next_action = std::max(t, s->hard_end);
    }
    return true;
  }
  if ((x -= r.seek) < 0) {
    LeavePlaying(s, t);
    int64_t jump = rng.Between(10000, 600000) * (rng.Chance(0.6) ? 1 : -1);
    int64_t to = std::max<int64_t>(0, s->position_ms + jump);
    if (s->title_end_ms > 0) to = std::min(to, s->title_end_ms - 1000);
    s->position_ms = std::max<int64_t>(0, to);
    FillEvent(*s, t, EventType::kSeek, e);  // carries the new position
    StartPlaying(s, t);
    return true;
  }
  if ((x -= r.bitrate) < 0) {
    const size_t n = ladder.size();
    bool down = c.rebuffering > 0 ? rng.Chance(0.85) : rng.Chance(0.4);
    if (s->bitrate_idx == 0) down = false;
    if (s->bitrate_idx + 1u == n) down = true;
    s->bitrate_idx = static_cast<uint8_t>(down ? s->bitrate_idx - 1 : s->bitrate_idx + 1);
    FillEvent(*s, t, EventType::kBitrateChange, e);
    e->bitrate_kbps = ladder[s->bitrate_idx];
    ScheduleAction(s, t);
    return true;
  }
  if ((x -= r.rebuffer) < 0) {
    LeavePlaying(s, t);
    FillEvent(*s, t, EventType::kRebufferStart, e);
    s->state = SessionState::kStalled;
    const double stall =
        std::clamp(rng.LogNormal(1200 * (1 + 3 * c.rebuffering), 0.8), 200.0, 90000.0);
    s->stall_ms = static_cast<int64_t>(stall);
    if (s->stall_ms > 15000 && rng.Chance(0.3)) {  // the viewer gives up
      s->pending = Pending::kStopWhileStalled;
      s->next_action = t + rng.Between(15000, s->stall_ms);
    } else {
      s->pending = Pending::kRebufferEnd;
      s->next_action = t + s->stall_ms;
    }
    if (s->next_action >= s->hard_end) {
      s->pending = Pending::kStopWhileStalled;
      s->next_action = std::max(t, s->hard_end);
    }
    return true;
  }
  if ((x -= r.error) < 0) {
    FillEvent(*s, t, EventType::kError, e);
    e->error_code = static_cast<int8_t>(kErrSegmentRetry + rng.Below(3));
    e->fatal = false;
    ScheduleAction(s, t);
    return true;
  }
  if ((x -= r.fatal) < 0) {
    LeavePlaying(s, t);
    FillEvent(*s, t, EventType::kError, e);
    e->error_code = static_cast<int8_t>(kErrSegment5xx + rng.Below(3));
    e->fatal = true;
    *ended = true;
    return true;
  }
  // The viewer vanished: app killed, device off, network gone for good.
  *ended = true;
  return false;
}

}  // namespace viewpipe::sim
