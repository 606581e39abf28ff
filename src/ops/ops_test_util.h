#pragma once
// Test-only helpers of the ops tests: owned events, and an oracle that
// evaluates the definition of concurrent viewers (events.md) by brute force.

#include <algorithm>
#include <deque>
#include <map>
#include <string>
#include <vector>

#include "event/event.h"
#include "ops/dimension.h"
#include "ops/session_tracker.h"

namespace viewpipe::ops::testing {

inline constexpr int64_t kB = 1700000000;  // a second; test events start around kB * 1000 ms
inline constexpr int64_t kMs = kB * 1000;

// An event that owns its strings.
struct TestEvent {
  std::string session;
  EventType type = EventType::kHeartbeat;
  int64_t ts = 0;
  bool fatal = false;
  std::string title = "t1";
  std::string country = "US";
  DeviceType device = DeviceType::kTv;
  std::string cdn = "cdn-a";
  std::string live;
  int64_t received_at = 0;  // 0: ts

  EventView View() const {
    EventView e;
    e.event_id = "x";
    e.type = type;
    e.ts_ms = ts;
    e.received_at_ms = received_at != 0 ? received_at : ts;
    e.session_id = session;
    e.profile_id = "p";
    e.title_id = title;
    e.device_type = device;
    e.country = country;
    e.cdn = cdn;
    e.live_event_id = live;
    if (type == EventType::kError) e.fatal = fatal;
    return e;
  }
  // The value of this event in dimension d ("" for no live event).
  std::string Value(Dimension d) const {
    switch (d) {
      case Dimension::kTitle: return title;
      case Dimension::kCountry: return country;
      case Dimension::kDevice: return std::string(DeviceTypeName(device));
      case Dimension::kCdn: return cdn;
      case Dimension::kLiveEvent: return live;
    }
    return "";
  }
};

// The definition, evaluated directly over every event given (in the order
// they were applied: a session's dimension values come from its first).
class Oracle {
 public:
  explicit Oracle(int64_t timeout_ms = 30000) : timeout_ms_(timeout_ms) {}
  void Add(const TestEvent& e) {
    auto [it, fresh] = sessions_.try_emplace(e.session);
    if (fresh) it->second.first = e;
    it->second.events.push_back(e);
    it->second.sorted = false;
  }
  // Viewers at the end of second s; with d, only sessions whose value is key.
  int64_t Count(int64_t s, const Dimension* d = nullptr, const std::string& key = "") const {
    const int64_t t = s * 1000 + 999;
    int64_t n = 0;
    for (auto& [id, session] : sessions_) {
      if (d != nullptr && (key.empty() || session.first.Value(*d) != key)) continue;
      if (Counts(session, t)) ++n;
    }
    return n;
  }

 private:
  struct Session {
    TestEvent first;
    std::vector<TestEvent> events;
    // Sorted by (ts, terminal last); start_ts: the first attempt/play_start.
    bool sorted = false;
    std::vector<std::pair<int64_t, bool>> marks;
    int64_t start_ts = INT64_MAX;
  };
  static bool Terminal(const TestEvent& e) {
    return e.type == EventType::kStop || (e.type == EventType::kError && e.fatal);
  }
  static void Sort(Session& s) {
    s.marks.clear();
    s.start_ts = INT64_MAX;
    for (const TestEvent& e : s.events) {
      s.marks.emplace_back(e.ts, Terminal(e));
      if (e.type == EventType::kAttempt || e.type == EventType::kPlayStart) {
        s.start_ts = std::min(s.start_ts, e.ts);
      }
    }
    std::sort(s.marks.begin(), s.marks.end());  // false < true: terminal last
    s.sorted = true;
  }
  bool Counts(Session& s, int64_t t) const {
    if (!s.sorted) Sort(s);
    if (s.start_ts > t) return false;
    // The last event at or before t (a terminal one wins a tie).
    auto it = std::upper_bound(s.marks.begin(), s.marks.end(), std::make_pair(t, true));
    if (it == s.marks.begin()) return false;
    --it;
    return !it->second && t - it->first <= timeout_ms_;
  }

  int64_t timeout_ms_;
  mutable std::map<std::string, Session> sessions_;
};

// Viewers of the tracker at second s (total, or one dimension value).
inline int64_t TrackerCount(const SessionTracker& t, int64_t s, const Dimension* d = nullptr,
                            const std::string& key = "") {
  if (d == nullptr) return t.series().At(ViewerSeries::kTotal, s);
  auto id = t.keys().Find(*d, key);
  if (!id) return 0;
  return t.series().At(t.keys().Key(*d, *id), s);
}

}  // namespace viewpipe::ops::testing
