#include "features/feature_vector.h"

#include <array>
#include <cmath>

#include "common/json_writer.h"
#include "event/event.h"
#include "features/feature_fold.h"

namespace viewpipe::features {
namespace {

constexpr int kWeekDays = 7;

void AddGenres(const ProfileDay& d, std::map<std::string, int64_t>* out) {
  for (const auto& [genre, beats] : d.genre_heartbeats) {
    if (beats != 0) (*out)[genre] += beats * kHeartbeatSeconds;
  }
}

std::optional<std::string> PreferredDevice(const std::array<int64_t, kDeviceSlots>& beats) {
  size_t best = 0;
  for (size_t i = 1; i < beats.size(); ++i) {
    if (beats[i] > beats[best]) best = i;
  }
  if (beats[best] == 0) return std::nullopt;
  return std::string(DeviceTypeName(static_cast<DeviceType>(best + 1)));
}

void AppendOptionalInt(std::string* out, const std::optional<int64_t>& v) {
  if (v) {
    AppendJsonInt(out, *v);
  } else {
    out->append("null");
  }
}

void Key(std::string* out, const char* key) {
  out->push_back(',');
  AppendJsonString(out, key);
  out->push_back(':');
}

}  // namespace

ProfileFeatures EvaluateProfile(const ProfileState& s, int64_t as_of) {
  ProfileFeatures f;
  f.as_of = as_of;
  f.updated_at = s.updated_at_ms;
  const int32_t today = DayOf(as_of);
  const int32_t first_day = today - (kProfileHorizonDays - 1);
  const int32_t week_day = today - (kWeekDays - 1);
  auto in_horizon = [&](int64_t ts) { return ts <= as_of && DayOf(ts) >= first_day; };
  if (s.last_ts != 0 && in_horizon(s.last_ts)) f.last_active_ms = s.last_ts;
  for (const RecentTitle& t : s.recent) {
    if (!in_horizon(t.ts)) continue;
    RecentTitleFeature r{t.title_id, t.ts, std::nullopt};
    if (t.position_ms >= 0) r.position_ms = t.position_ms;
    f.recent_titles.push_back(std::move(r));
  }
  std::array<int64_t, kDeviceSlots> devices{};
  for (const ProfileDay& d : s.days) {
    if (d.day < first_day || d.day > today) continue;
    AddGenres(d, &f.watch_seconds_30d);
    for (size_t i = 0; i < devices.size(); ++i) devices[i] += d.device_heartbeats[i];
    if (d.day < week_day) continue;
    AddGenres(d, &f.watch_seconds_7d);
    f.sessions_7d += d.attempts;
  }
  f.preferred_device = PreferredDevice(devices);
  for (const auto& [title, ts] : s.completed) f.titles_completed_30d += in_horizon(ts) ? 1 : 0;
  return f;
}

int64_t ProfileValidUntil(const ProfileState& s, int64_t as_of) {
  int64_t until = (static_cast<int64_t>(DayOf(as_of)) + 1) * kMsPerDayF;
  auto event_at = [&](int64_t ts) {
    if (ts > as_of && ts < until) until = ts;
  };
  event_at(s.last_ts);
  for (const RecentTitle& t : s.recent) event_at(t.ts);
  for (const auto& [title, ts] : s.completed) event_at(ts);
  return until;
}

TitleFeatures EvaluateTitle(const TitleState& s, int64_t as_of) {
  TitleFeatures f;
  f.as_of = as_of;
  f.updated_at = s.updated_at_ms;
  const int64_t from_second = FloorTo(as_of, kMsPerSecond) - kSessionTimeoutMs;
  for (auto it = s.alive_seconds.lower_bound(from_second); it != s.alive_seconds.end(); ++it) {
    if (it->first <= as_of) f.concurrent_viewers += it->second;
  }
  const int64_t from_5min = FloorTo(as_of, kPlayBucketMs) - (kMsPerHourF - kPlayBucketMs);
  for (auto it = s.plays_5min.lower_bound(from_5min); it != s.plays_5min.end(); ++it) {
    if (it->first <= as_of) f.plays_1h += it->second;
  }
  const int64_t from_hour = FloorTo(as_of, kMsPerHourF) - (kMsPerDayF - kMsPerHourF);
  for (auto it = s.plays_hour.lower_bound(from_hour); it != s.plays_hour.end(); ++it) {
    if (it->first <= as_of) f.plays_24h += it->second;
  }
  if (s.trend_score > 0) {
    f.trending_score =
        s.trend_score * std::exp2(-static_cast<double>(as_of - s.trend_ref_ms) / kTrendHalfLifeMs);
  }
  if (s.completion_count > 0) {
    f.avg_completion = static_cast<double>(s.completion_permille_sum) /
                       (1000.0 * static_cast<double>(s.completion_count));
  }
  return f;
}

std::string RecentTitlesJson(const std::vector<RecentTitleFeature>& v) {
  std::string out = "[";
  for (const RecentTitleFeature& t : v) {
    if (out.size() > 1) out.push_back(',');
    out.append("{\"title_id\":");
    AppendJsonString(&out, t.title_id);
    out.append(",\"last_ts\":");
    AppendJsonInt(&out, t.last_ts);
    out.append(",\"position_ms\":");
    AppendOptionalInt(&out, t.position_ms);
    out.push_back('}');
  }
  out.push_back(']');
  return out;
}

std::string GenreSecondsJson(const std::map<std::string, int64_t>& m) {
  std::string out = "{";
  for (const auto& [genre, seconds] : m) {
    if (out.size() > 1) out.push_back(',');
    AppendJsonString(&out, genre);
    out.push_back(':');
    AppendJsonInt(&out, seconds);
  }
  out.push_back('}');
  return out;
}

void AppendProfileJson(std::string_view id, const ProfileFeatures& f, std::string* out) {
  out->append("{\"profile_id\":");
  AppendJsonString(out, id);
  Key(out, "as_of");
  AppendJsonInt(out, f.as_of);
  Key(out, "last_active_ms");
  AppendOptionalInt(out, f.last_active_ms);
  Key(out, "recent_titles");
  out->append(RecentTitlesJson(f.recent_titles));
  Key(out, "watch_seconds_7d");
  out->append(GenreSecondsJson(f.watch_seconds_7d));
  Key(out, "watch_seconds_30d");
  out->append(GenreSecondsJson(f.watch_seconds_30d));
  Key(out, "titles_completed_30d");
  AppendJsonInt(out, f.titles_completed_30d);
  Key(out, "sessions_7d");
  AppendJsonInt(out, f.sessions_7d);
  Key(out, "preferred_device");
  if (f.preferred_device) {
    AppendJsonString(out, *f.preferred_device);
  } else {
    out->append("null");
  }
  Key(out, "updated_at");
  AppendJsonInt(out, f.updated_at);
  out->push_back('}');
}

void AppendTitleJson(std::string_view id, const TitleFeatures& f, std::string* out) {
  out->append("{\"title_id\":");
  AppendJsonString(out, id);
  Key(out, "as_of");
  AppendJsonInt(out, f.as_of);
  Key(out, "concurrent_viewers");
  AppendJsonInt(out, f.concurrent_viewers);
  Key(out, "plays_1h");
  AppendJsonInt(out, f.plays_1h);
  Key(out, "plays_24h");
  AppendJsonInt(out, f.plays_24h);
  Key(out, "trending_score");
  AppendJsonDouble(out, f.trending_score);
  Key(out, "avg_completion");
  if (f.avg_completion) {
    AppendJsonDouble(out, *f.avg_completion);
  } else {
    out->append("null");
  }
  Key(out, "updated_at");
  AppendJsonInt(out, f.updated_at);
  out->push_back('}');
}

}  // namespace viewpipe::features
