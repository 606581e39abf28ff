#include "sre/qoe_session_tracker.h"

#include <algorithm>

#include "ops/bytes.h"
#include "sre/sre_codec.h"

namespace viewpipe::sre {

QoeSessionTracker::QoeSessionTracker(const QoeOptions& options, OpenWindows* windows)
    : options_(options), windows_(windows) {}

QoeSessionTracker::Session& QoeSessionTracker::Find(const EventView& e) {
  auto [it, inserted] = sessions_.try_emplace(std::string(e.session_id));
  if (inserted) {
    SessionDims d{std::string(e.cdn), std::string(e.country),
                  e.isp.empty() ? std::string("unknown") : std::string(e.isp),
                  std::string(DeviceTypeName(e.device_type)), std::string(e.title_id)};
    it->second.groups = GroupsOf(d);
  }
  return it->second;
}

// Adds the playing time since the span's mark up to ts (never backwards,
// never more than the session timeout for one gap).
void QoeSessionTracker::CountPlaying(Session& s, int64_t ts) {
  if (s.phase != Phase::kPlaying || ts <= s.mark_ts) return;
  const int64_t to = std::min(ts, s.mark_ts + options_.session_timeout_ms);
  const int64_t dropped = windows_->AddSpan(s.mark_ts, to, s.groups,
                                            [](QoeCounts& c, int64_t ms) { c.playing_ms += ms; });
  if (dropped > 0) ++stats_.late_contributions;
  s.mark_ts = ts;
}

void QoeSessionTracker::StartPlaying(Session& s, int64_t ts) {
  s.phase = Phase::kPlaying;
  s.mark_ts = ts;
}

void QoeSessionTracker::OnPlayStart(Session& s, const EventView& e) {
  if (s.started) return;
  s.started = true;
  const bool absurd = !e.startup_ms || *e.startup_ms > options_.max_startup_ms;
  if (absurd) ++stats_.absurd_startup;
  At(e.ts_ms, s, [&](QoeCounts& c) {
    ++c.plays;
    if (!absurd) c.vst.Add(*e.startup_ms);
  });
  StartPlaying(s, e.ts_ms);
}

void QoeSessionTracker::OnRebufferEnd(Session& s, const EventView& e) {
  int64_t ms = e.rebuffer_ms.value_or(0);
  if (ms > options_.max_rebuffer_ms) {
    ++stats_.absurd_rebuffer;
    ms = options_.max_rebuffer_ms;
  }
  At(e.ts_ms, s, [ms](QoeCounts& c) {
    ++c.rebuffers;
    c.longest_stall_ms = std::max(c.longest_stall_ms, ms);
  });
  const int64_t dropped =
      windows_->AddSpan(e.ts_ms - ms, e.ts_ms, s.groups,
                        [](QoeCounts& c, int64_t part) { c.stalled_ms += part; });
  if (dropped > 0) ++stats_.late_contributions;
  if (s.phase == Phase::kStalled || s.phase == Phase::kUnknown || s.phase == Phase::kPlaying) {
    StartPlaying(s, e.ts_ms);
  }
}

void QoeSessionTracker::OnHeartbeat(Session& s, const EventView& e) {
  if (s.phase == Phase::kUnknown) StartPlaying(s, e.ts_ms);
  if (!e.bitrate_kbps) return;
  if (*e.bitrate_kbps > options_.max_bitrate_kbps) {
    ++stats_.absurd_bitrate;
    return;
  }
  At(e.ts_ms, s, [&](QoeCounts& c) {
    ++c.bitrate_samples;
    c.bitrate_sum_kbps += *e.bitrate_kbps;
  });
}

void QoeSessionTracker::OnEnd(Session& s, const EventView& e) {
  const bool fatal = e.type == EventType::kError;
  if (!s.started) {
    if (s.attempted) At(e.ts_ms, s, [&](QoeCounts& c) { ++(fatal ? c.vsf : c.ebvs); });
  } else {
    At(e.ts_ms, s, [&](QoeCounts& c) {
      ++c.ended_plays;
      if (fatal) ++c.playback_failures;
    });
  }
  s.phase = Phase::kEnded;
}

void QoeSessionTracker::Apply(const EventView& e) {
  ++stats_.events;
  Session& s = Find(e);
  if (s.phase == Phase::kEnded) return;  // stragglers after the end
  s.last_ts = std::max(s.last_ts, e.ts_ms);
  CountPlaying(s, e.ts_ms);
  switch (e.type) {
    case EventType::kAttempt:
      if (s.attempted || s.started) break;
      s.attempted = true;
      s.phase = Phase::kStarting;
      At(e.ts_ms, s, [](QoeCounts& c) { ++c.attempts; });
      break;
    case EventType::kPlayStart:
      OnPlayStart(s, e);
      break;
    case EventType::kHeartbeat:
      OnHeartbeat(s, e);
      break;
    case EventType::kPause:
      if (s.phase == Phase::kPlaying || s.phase == Phase::kUnknown) s.phase = Phase::kPaused;
      break;
    case EventType::kResume:
      if (s.phase == Phase::kPaused || s.phase == Phase::kUnknown) StartPlaying(s, e.ts_ms);
      break;
    case EventType::kBitrateChange:
      if (s.phase == Phase::kUnknown) StartPlaying(s, e.ts_ms);
      break;
    case EventType::kRebufferStart:
      if (s.phase == Phase::kPlaying || s.phase == Phase::kUnknown) {
        s.phase = Phase::kStalled;
        // A stall shows in stalled_ms only when it ends; its start is the
        // detector's leading evidence.
        At(e.ts_ms, s, [](QoeCounts& c) { ++c.stall_starts; });
      }
      break;
    case EventType::kRebufferEnd:
      OnRebufferEnd(s, e);
      break;
    case EventType::kError:
      if (e.fatal.value_or(false)) OnEnd(s, e);
      break;
    case EventType::kStop:
      OnEnd(s, e);
      break;
    case EventType::kSeek:
      break;
  }
}

void QoeSessionTracker::ExpireBefore(int64_t t) {
  for (auto it = sessions_.begin(); it != sessions_.end();) {
    Session& s = it->second;
    const int64_t end = s.last_ts + options_.session_timeout_ms;
    if (end > t) {
      ++it;
      continue;
    }
    if (s.phase != Phase::kEnded) {
      ++stats_.timeouts;
      if (!s.started && s.attempted) {
        At(end, s, [](QoeCounts& c) { ++c.ebvs; });
      } else if (s.started) {
        At(end, s, [](QoeCounts& c) { ++c.ended_plays; });
      }
    }
    it = sessions_.erase(it);
  }
}

void QoeSessionTracker::Save(std::string* out) const {
  using ops::bytes::PutSigned;
  using ops::bytes::PutVarint;
  for (uint64_t v : {stats_.events, stats_.late_contributions, stats_.absurd_startup,
                     stats_.absurd_rebuffer, stats_.absurd_bitrate, stats_.timeouts}) {
    PutVarint(out, v);
  }
  // In id order, so the same state always gives the same bytes.
  std::vector<const std::pair<const std::string, Session>*> sorted;
  sorted.reserve(sessions_.size());
  for (const auto& entry : sessions_) sorted.push_back(&entry);
  std::sort(sorted.begin(), sorted.end(), [](auto* a, auto* b) { return a->first < b->first; });
  PutVarint(out, sorted.size());
  for (const auto* entry : sorted) {
    const auto& [id, s] = *entry;
    ops::bytes::PutString(out, id);
    for (const GroupKey& g : s.groups) ops::bytes::PutString(out, g.key);
    ops::bytes::PutU8(out, static_cast<uint8_t>(s.phase));
    ops::bytes::PutU8(out, static_cast<uint8_t>((s.attempted ? 1 : 0) | (s.started ? 2 : 0)));
    PutSigned(out, s.last_ts);
    PutSigned(out, s.mark_ts);
  }
}

bool QoeSessionTracker::Load(std::string_view* in) {
  Stats stats;
  for (uint64_t* v : {&stats.events, &stats.late_contributions, &stats.absurd_startup,
                      &stats.absurd_rebuffer, &stats.absurd_bitrate, &stats.timeouts}) {
    if (!ops::bytes::GetVarint(in, v)) return false;
  }
  uint64_t n;
  if (!ops::bytes::GetCount(in, 1ull << 32, &n)) return false;
  std::unordered_map<std::string, Session> sessions;
  sessions.reserve(n);
  for (uint64_t i = 0; i < n; ++i) {
    std::string_view id, key;
    if (!ops::bytes::GetString(in, &id)) return false;
    Session s;
    for (size_t d = 0; d < kQoeDims; ++d) {
      if (!ops::bytes::GetString(in, &key)) return false;
      s.groups[d] = GroupKey{static_cast<QoeDim>(d), std::string(key)};
    }
    uint8_t phase, flags;
    if (!ops::bytes::GetU8(in, &phase) || phase > static_cast<uint8_t>(Phase::kEnded) ||
        !ops::bytes::GetU8(in, &flags) || !ops::bytes::GetSigned(in, &s.last_ts) ||
        !ops::bytes::GetSigned(in, &s.mark_ts)) {
      return false;
    }
    s.phase = static_cast<Phase>(phase);
    s.attempted = (flags & 1) != 0;
    s.started = (flags & 2) != 0;
    sessions.emplace(std::string(id), std::move(s));
  }
  sessions_ = std::move(sessions);
  stats_ = stats;
  return true;
}

}  // namespace viewpipe::sre
