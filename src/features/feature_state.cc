#include "features/feature_state.h"

#include "features/state_codec.h"

namespace viewpipe::features {
namespace {

constexpr uint8_t kVersion = 1;
constexpr uint64_t kMaxEntries = 1u << 22;

void PutCounts(StateWriter* w, const std::map<std::string, int64_t>& m) {
  w->Count(m.size());
  for (const auto& [k, v] : m) {
    w->Str(k);
    w->Int(v);
  }
}

void GetCounts(StateReader* r, std::map<std::string, int64_t>* m) {
  const uint64_t n = r->Count(kMaxEntries);
  for (uint64_t i = 0; i < n && !r->failed(); ++i) {
    std::string k = r->Str();
    (*m)[std::move(k)] = r->Int();
  }
}

void PutBuckets(StateWriter* w, const std::map<int64_t, int64_t>& m) {
  w->Count(m.size());
  for (const auto& [k, v] : m) {
    w->Int(k);
    w->Int(v);
  }
}

void GetBuckets(StateReader* r, std::map<int64_t, int64_t>* m) {
  const uint64_t n = r->Count(kMaxEntries);
  for (uint64_t i = 0; i < n && !r->failed(); ++i) {
    const int64_t k = r->Int();
    (*m)[k] = r->Int();
  }
}

Status Finish(const StateReader& r, const char* what) {
  if (r.failed() || !r.done()) return Status::Corruption(std::string("bad ") + what + " state");
  return Status::OK();
}

bool CheckVersion(std::string_view* data) {
  if (data->empty() || static_cast<uint8_t>(data->front()) != kVersion) return false;
  data->remove_prefix(1);
  return true;
}

}  // namespace

std::string EncodeProfileState(const ProfileState& s) {
  StateWriter w;
  w.out().push_back(static_cast<char>(kVersion));
  w.Int(s.last_ts);
  w.Count(s.recent.size());
  for (const RecentTitle& t : s.recent) {
    w.Str(t.title_id);
    w.Int(t.ts);
    w.Str(t.event_id);
    w.Int(t.position_ms);
  }
  w.Count(s.days.size());
  for (const ProfileDay& d : s.days) {
    w.Int(d.day);
    w.Int(d.attempts);
    PutCounts(&w, d.genre_heartbeats);
    for (int64_t h : d.device_heartbeats) w.Int(h);
  }
  PutCounts(&w, s.completed);
  w.Int(s.updated_at_ms);
  return std::move(w.out());
}

Status DecodeProfileState(std::string_view data, ProfileState* s) {
  *s = ProfileState();
  if (!CheckVersion(&data)) return Status::Corruption("bad profile state version");
  StateReader r(data);
  s->last_ts = r.Int();
  const uint64_t recent = r.Count(kMaxEntries);
  for (uint64_t i = 0; i < recent && !r.failed(); ++i) {
    RecentTitle t;
    t.title_id = r.Str();
    t.ts = r.Int();
    t.event_id = r.Str();
    t.position_ms = r.Int();
    s->recent.push_back(std::move(t));
  }
  const uint64_t days = r.Count(kMaxEntries);
  for (uint64_t i = 0; i < days && !r.failed(); ++i) {
    ProfileDay d;
    d.day = static_cast<int32_t>(r.Int());
    d.attempts = r.Int();
    GetCounts(&r, &d.genre_heartbeats);
    for (int64_t& h : d.device_heartbeats) h = r.Int();
    s->days.push_back(std::move(d));
  }
  GetCounts(&r, &s->completed);
  s->updated_at_ms = r.Int();
  return Finish(r, "profile");
}

std::string EncodeTitleState(const TitleState& s) {
  StateWriter w;
  w.out().push_back(static_cast<char>(kVersion));
  w.Int(s.last_ts);
  PutBuckets(&w, s.alive_seconds);
  PutBuckets(&w, s.plays_5min);
  PutBuckets(&w, s.plays_hour);
  w.Double(s.trend_score);
  w.Int(s.trend_ref_ms);
  w.Int(s.completion_permille_sum);
  w.Int(s.completion_count);
  w.Int(s.updated_at_ms);
  return std::move(w.out());
}

Status DecodeTitleState(std::string_view data, TitleState* s) {
  *s = TitleState();
  if (!CheckVersion(&data)) return Status::Corruption("bad title state version");
  StateReader r(data);
  s->last_ts = r.Int();
  GetBuckets(&r, &s->alive_seconds);
  GetBuckets(&r, &s->plays_5min);
  GetBuckets(&r, &s->plays_hour);
  s->trend_score = r.Double();
  s->trend_ref_ms = r.Int();
  s->completion_permille_sum = r.Int();
  s->completion_count = r.Int();
  s->updated_at_ms = r.Int();
  return Finish(r, "title");
}

std::string EncodeSessionMark(const SessionMark& m) {
  StateWriter w;
  w.out().push_back(static_cast<char>(kVersion));
  w.Int(m.ts);
  w.Str(m.event_id);
  w.Int((m.terminal ? 1 : 0) | (m.started ? 2 : 0));
  return std::move(w.out());
}

Status DecodeSessionMark(std::string_view data, SessionMark* m) {
  *m = SessionMark();
  if (!CheckVersion(&data)) return Status::Corruption("bad session state version");
  StateReader r(data);
  m->ts = r.Int();
  m->event_id = r.Str();
  const int64_t flags = r.Int();
  m->terminal = (flags & 1) != 0;
  m->started = (flags & 2) != 0;
  if (flags < 0 || flags > 3) return Status::Corruption("bad session state flags");
  return Finish(r, "session");
}

}  // namespace viewpipe::features
