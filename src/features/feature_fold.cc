#include "features/feature_fold.h"

#include <algorithm>
#include <cmath>
#include <tuple>

namespace viewpipe::features {
namespace {

// (ts, event_id) order: the total order "newest" means everywhere.
bool Newer(int64_t ts_a, std::string_view id_a, int64_t ts_b, std::string_view id_b) {
  return std::tie(ts_a, id_a) > std::tie(ts_b, id_b);
}

bool IsTerminal(const EventView& e) {
  return e.type == EventType::kStop || (e.type == EventType::kError && e.fatal.value_or(false));
}

template <typename Map>
void EraseBelow(Map* m, int64_t key) {
  m->erase(m->begin(), m->lower_bound(key));
}

}  // namespace

int64_t FloorTo(int64_t ms, int64_t step) {
  int64_t q = ms / step;
  if (ms % step < 0) --q;
  return q * step;
}

int32_t DayOf(int64_t ms) { return static_cast<int32_t>(FloorTo(ms, kMsPerDayF) / kMsPerDayF); }

void FeatureFold::ApplyToProfile(const EventView& e, ProfileState* p) const {
  p->last_ts = std::max(p->last_ts, e.ts_ms);
  UpdateRecent(e, p);
  UpdateDay(e, p);
  UpdateCompletion(e, p);
  PruneProfileState(p);
}

void FeatureFold::UpdateRecent(const EventView& e, ProfileState* p) const {
  auto& r = p->recent;
  auto it = std::find_if(r.begin(), r.end(),
                         [&](const RecentTitle& t) { return t.title_id == e.title_id; });
  if (it != r.end()) {
    if (!Newer(e.ts_ms, e.event_id, it->ts, it->event_id)) return;
    r.erase(it);
  }
  RecentTitle t{std::string(e.title_id), e.ts_ms, std::string(e.event_id),
                e.position_ms.value_or(-1)};
  auto pos = std::find_if(r.begin(), r.end(), [&](const RecentTitle& o) {
    return Newer(t.ts, t.event_id, o.ts, o.event_id);
  });
  if (pos == r.end() && r.size() >= static_cast<size_t>(kRecentTitles)) return;
  r.insert(pos, std::move(t));
  if (r.size() > static_cast<size_t>(kRecentTitles)) r.pop_back();
}

void FeatureFold::UpdateDay(const EventView& e, ProfileState* p) const {
  const bool heartbeat = e.type == EventType::kHeartbeat;
  if (!heartbeat && e.type != EventType::kAttempt) return;
  const int32_t day = DayOf(e.ts_ms);
  auto it = std::lower_bound(p->days.begin(), p->days.end(), day,
                             [](const ProfileDay& d, int32_t v) { return d.day < v; });
  if (it == p->days.end() || it->day != day) it = p->days.insert(it, ProfileDay{day});
  if (!heartbeat) {
    ++it->attempts;
    return;
  }
  ++it->genre_heartbeats[std::string(catalog_->GenreOf(e.title_id))];
  const int slot = static_cast<int>(e.device_type) - 1;
  if (slot >= 0 && slot < kDeviceSlots) ++it->device_heartbeats[static_cast<size_t>(slot)];
}

void FeatureFold::UpdateCompletion(const EventView& e, ProfileState* p) const {
  const CatalogEntry* c = catalog_->Find(e.title_id);
  if (c == nullptr || c->duration_ms <= 0 || !e.position_ms) return;
  if (*e.position_ms * 1000 < kCompletionPermille * c->duration_ms) return;
  int64_t& ts = p->completed[std::string(e.title_id)];
  ts = std::max(ts, e.ts_ms);
}

void PruneProfileState(ProfileState* p) {
  // Keep one day more than the horizon: a window at T >= last_ts reaches back
  // to DayOf(T) - (horizon - 1) at most.
  const int32_t first_day = DayOf(p->last_ts) - kProfileHorizonDays;
  auto keep = std::lower_bound(p->days.begin(), p->days.end(), first_day,
                               [](const ProfileDay& d, int32_t v) { return d.day < v; });
  p->days.erase(p->days.begin(), keep);
  const int64_t oldest = p->last_ts - (kProfileHorizonDays + 1) * kMsPerDayF;
  std::erase_if(p->completed, [oldest](const auto& kv) { return kv.second < oldest; });
}

std::string SessionKeyId(std::string_view title_id, std::string_view session_id) {
  return std::to_string(title_id.size()) + ":" + std::string(title_id) + std::string(session_id);
}

void FeatureFold::ApplyToTitle(const EventView& e, SessionMark* m, TitleState* t) const {
  t->last_ts = std::max(t->last_ts, e.ts_ms);
  // The session's contribution to alive_seconds moves with its mark. A
  // second below the window was pruned and is never counted again.
  if (m->Alive()) {
    auto it = t->alive_seconds.find(FloorTo(m->ts, kMsPerSecond));
    if (it != t->alive_seconds.end() && --it->second == 0) t->alive_seconds.erase(it);
  }
  m->started |= e.type == EventType::kAttempt || e.type == EventType::kPlayStart;
  if (m->event_id.empty() || Newer(e.ts_ms, e.event_id, m->ts, m->event_id)) {
    m->ts = e.ts_ms;
    m->event_id = std::string(e.event_id);
    m->terminal = IsTerminal(e);
  }
  if (m->Alive()) ++t->alive_seconds[FloorTo(m->ts, kMsPerSecond)];
  if (e.type == EventType::kPlayStart) {
    ++t->plays_5min[FloorTo(e.ts_ms, kPlayBucketMs)];
    ++t->plays_hour[FloorTo(e.ts_ms, kMsPerHourF)];
    if (t->trend_score == 0 || e.ts_ms > t->trend_ref_ms) {
      const double age = static_cast<double>(e.ts_ms - t->trend_ref_ms);
      t->trend_score =
          t->trend_score == 0 ? 1.0 : t->trend_score * std::exp2(-age / kTrendHalfLifeMs) + 1.0;
      t->trend_ref_ms = e.ts_ms;
    } else {
      t->trend_score +=
          std::exp2(-static_cast<double>(t->trend_ref_ms - e.ts_ms) / kTrendHalfLifeMs);
    }
  }
  const CatalogEntry* c = catalog_->Find(e.title_id);
  if (e.type == EventType::kStop && e.position_ms && c != nullptr && c->duration_ms > 0) {
    t->completion_permille_sum += std::min<int64_t>(1000, *e.position_ms * 1000 / c->duration_ms);
    ++t->completion_count;
  }
  PruneTitleState(t);
}

void PruneTitleState(TitleState* t) {
  EraseBelow(&t->alive_seconds, FloorTo(t->last_ts, kMsPerSecond) - kSessionTimeoutMs);
  EraseBelow(&t->plays_5min, FloorTo(t->last_ts, kPlayBucketMs) - kMsPerHourF);
  EraseBelow(&t->plays_hour, FloorTo(t->last_ts, kMsPerHourF) - kMsPerDayF);
}

}  // namespace viewpipe::features
