#include "features/feature_merge.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <tuple>

#include "features/feature_fold.h"

namespace viewpipe::features {
namespace {

// (ts, event_id) order, as in FeatureFold.
bool NewerTitle(const RecentTitle& a, const RecentTitle& b) {
  return std::tie(a.ts, a.event_id) > std::tie(b.ts, b.event_id);
}

void AddDay(const ProfileDay& from, ProfileDay* to) {
  to->day = from.day;
  to->attempts += from.attempts;
  for (const auto& [genre, beats] : from.genre_heartbeats) to->genre_heartbeats[genre] += beats;
  for (size_t i = 0; i < to->device_heartbeats.size(); ++i) {
    to->device_heartbeats[i] += from.device_heartbeats[i];
  }
}

void MergeRecent(std::span<const ProfileState> parts, ProfileState* out) {
  std::map<std::string, RecentTitle> newest;  // title -> its newest entry
  for (const ProfileState& p : parts) {
    for (const RecentTitle& r : p.recent) {
      auto [it, inserted] = newest.try_emplace(r.title_id, r);
      if (!inserted && NewerTitle(r, it->second)) it->second = r;
    }
  }
  out->recent.clear();
  for (auto& [title, r] : newest) out->recent.push_back(std::move(r));
  std::sort(out->recent.begin(), out->recent.end(), NewerTitle);
  if (out->recent.size() > static_cast<size_t>(kRecentTitles)) out->recent.resize(kRecentTitles);
}

template <typename Map>
void SumInto(const Map& from, Map* to) {
  for (const auto& [k, v] : from) (*to)[k] += v;
}

}  // namespace

ProfileState MergeProfileStates(std::span<const ProfileState> parts) {
  ProfileState out;
  std::map<int32_t, ProfileDay> days;
  for (const ProfileState& p : parts) {
    out.last_ts = std::max(out.last_ts, p.last_ts);
    out.updated_at_ms = std::max(out.updated_at_ms, p.updated_at_ms);
    for (const ProfileDay& d : p.days) AddDay(d, &days[d.day]);
    for (const auto& [title, ts] : p.completed) {
      auto [it, inserted] = out.completed.try_emplace(title, ts);
      if (!inserted) it->second = std::max(it->second, ts);
    }
  }
  MergeRecent(parts, &out);
  for (auto& [day, d] : days) out.days.push_back(std::move(d));
  PruneProfileState(&out);
  return out;
}

TitleState MergeTitleStates(std::span<const TitleState> parts) {
  TitleState out;
  for (const TitleState& t : parts) {
    out.last_ts = std::max(out.last_ts, t.last_ts);
    out.updated_at_ms = std::max(out.updated_at_ms, t.updated_at_ms);
    SumInto(t.alive_seconds, &out.alive_seconds);
    SumInto(t.plays_5min, &out.plays_5min);
    SumInto(t.plays_hour, &out.plays_hour);
    out.completion_permille_sum += t.completion_permille_sum;
    out.completion_count += t.completion_count;
    // The fold's score is 0 (and its reference 0) until the first play.
    if (t.trend_score != 0) out.trend_ref_ms = std::max(out.trend_ref_ms, t.trend_ref_ms);
  }
  for (const TitleState& t : parts) {
    if (t.trend_score == 0) continue;
    const double age = static_cast<double>(out.trend_ref_ms - t.trend_ref_ms);
    out.trend_score += t.trend_score * std::exp2(-age / kTrendHalfLifeMs);
  }
  PruneTitleState(&out);
  return out;
}

}  // namespace viewpipe::features
