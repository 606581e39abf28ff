// ConcurrencyTruth against hand-computed counts and against a brute-force
// reading of the events.md definition, on a small hand-built session set.

#include "sim/truth.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

namespace viewpipe::sim {
namespace {

constexpr int64_t kBase = 1'700'000'000'000;  // a whole second

struct HandEvent {
  char session;
  int64_t at;  // ms after kBase
  EventType type;
  bool fatal = false;
};

struct HandSession {
  TruthKeys keys;  // title, country, device, cdn, live
  TruthSessionState state;
};

// Names: titles tA tB; countries DE US; devices tv mobile; cdns cdn-a cdn-b;
// live events "" (none) live-1.
std::array<std::vector<std::string>, kDimCount> Names() {
  return {{{"tA", "tB"}, {"DE", "US"}, {"tv", "mobile"}, {"cdn-a", "cdn-b"}, {"", "live-1"}}};
}

std::map<char, HandSession> Sessions() {
  return {
      {'A', {{0, 0, 0, 0, 0}}},  // plays, stops at 25 s
      {'B', {{1, 1, 1, 1, 1}}},  // live; last heartbeat at 14.999 s, then silent: the 30 s edge
      {'C', {{0, 1, 0, 1, 0}}},  // video start failure at 4.5 s
      {'D', {{1, 0, 0, 0, 0}}},  // exit before start (stop at 7.5 s)
      {'E', {{0, 0, 1, 0, 0}}},  // a non-fatal error does not end it; silent after 18 s
      {'F', {{1, 1, 1, 1, 0}}},  // attempt at x.999: counts in that very second
      {'G', {{0, 1, 0, 0, 0}}},  // a heartbeat before its attempt does not count
      {'H', {{1, 0, 1, 1, 0}}},  // starts with play_start (no attempt); playback failure at 50 s
      {'J', {{0, 0, 0, 0, 0}}},  // attempt at 70 s exactly, silent: last counted second 99
  };
}

std::vector<HandEvent> Events() {
  std::vector<HandEvent> e = {
      {'A', 1000, EventType::kAttempt},      {'A', 2000, EventType::kPlayStart},
      {'A', 11000, EventType::kHeartbeat},   {'A', 21000, EventType::kHeartbeat},
      {'A', 25000, EventType::kStop},        {'B', 5000, EventType::kAttempt},
      {'B', 14999, EventType::kHeartbeat},   {'C', 3000, EventType::kAttempt},
      {'C', 4500, EventType::kError, true},  {'D', 7000, EventType::kAttempt},
      {'D', 7500, EventType::kStop},         {'E', 8000, EventType::kAttempt},
      {'E', 9000, EventType::kError, false}, {'E', 18000, EventType::kHeartbeat},
      {'F', 9999, EventType::kAttempt},      {'G', 2000, EventType::kHeartbeat},
      {'G', 6000, EventType::kAttempt},      {'G', 16000, EventType::kHeartbeat},
      {'G', 20000, EventType::kStop},        {'H', 30000, EventType::kPlayStart},
      {'H', 40000, EventType::kHeartbeat},   {'H', 50000, EventType::kError, true},
      {'J', 70000, EventType::kAttempt},
  };
  std::stable_sort(e.begin(), e.end(),
                   [](const HandEvent& a, const HandEvent& b) { return a.at < b.at; });
  return e;
}

// The definition of events.md read literally, for one session at time t.
bool CountsAt(const std::vector<HandEvent>& events, char session, int64_t t) {
  bool started = false;
  const HandEvent* last = nullptr;
  for (const HandEvent& e : events) {
    if (e.session != session || e.at > t) continue;
    started = started || e.type == EventType::kAttempt || e.type == EventType::kPlayStart;
    last = &e;
  }
  if (!started || last == nullptr) return false;
  if (last->type == EventType::kStop || (last->type == EventType::kError && last->fatal))
    return false;
  return t - last->at <= 30000;
}

class TruthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    sessions_ = Sessions();
    ConcurrencyTruth truth(Names(), kBase / 1000, [this](std::string_view line) {
      lines_.emplace_back(line);
      std::map<std::string, int64_t> c;
      c["total"] = truth_->last_total();
      const auto names = Names();
      for (size_t d = 0; d < kDimCount; ++d) {
        for (uint32_t k = 0; k < names[d].size(); ++k) {
          if (d == kDimLiveEvent && k == 0) continue;
          c[std::string(kTruthDimNames[d]) + "=" + names[d][k]] =
              truth_->LastCount(static_cast<TruthDim>(d), k);
        }
      }
      counts_.push_back(c);
    });
    truth_ = &truth;
    for (const HandEvent& e : Events()) {
      truth.FinishBefore((kBase + e.at) / 1000);
      HandSession& s = sessions_.at(e.session);
      truth.OnEvent(&s.state, s.keys, kBase + e.at, e.type, e.fatal);
    }
    truth.FinishBefore(kBase / 1000 + 121);
    truth_ = nullptr;
  }
  int64_t Total(int s) const { return counts_.at(static_cast<size_t>(s)).at("total"); }
  int64_t Group(int s, const std::string& key) const {
    return counts_.at(static_cast<size_t>(s)).at(key);
  }

  std::map<char, HandSession> sessions_;
  ConcurrencyTruth* truth_ = nullptr;
  std::vector<std::string> lines_;
  std::vector<std::map<std::string, int64_t>> counts_;
};

TEST_F(TruthTest, HandComputedCounts) {
  ASSERT_EQ(lines_.size(), 121u);
  EXPECT_EQ(Total(0), 0);  // t=999: nothing has begun
  EXPECT_EQ(Total(1), 1);  // A
  EXPECT_EQ(Total(3), 2);  // A, C (attempted at 3 s, failed at 4.5 s)
  EXPECT_EQ(Total(4), 1);  // C's fatal error ends it
  EXPECT_EQ(Total(7), 3);  // A B G; D attempted and stopped within second 7
  EXPECT_EQ(Total(9), 5);  // A B E F G (F's attempt at 9.999 counts at t=9.999)
  EXPECT_EQ(Group(9, "title_id=tA"), 3);
  EXPECT_EQ(Group(9, "title_id=tB"), 2);
  EXPECT_EQ(Group(9, "country=US"), 3);
  EXPECT_EQ(Group(9, "live_event_id=live-1"), 1);
  EXPECT_EQ(Total(24), 4);  // G stopped at 20 s: A B E F
  EXPECT_EQ(Total(25), 3);  // A stopped at 25 s: B E F
  EXPECT_EQ(Total(44), 3);  // B (t-last = 30000 exactly still counts), E, H
  EXPECT_EQ(Total(45), 2);  // B timed out: E, H
  EXPECT_EQ(Total(47), 2);  // E's last at 18 s: 47.999-18 = 29.999 s
  EXPECT_EQ(Total(48), 1);  // E timed out
  EXPECT_EQ(Total(50), 0);  // H's fatal error at 50 s
  EXPECT_EQ(Total(70), 1);  // J
  EXPECT_EQ(Total(99), 1);  // J: 99.999 - 70 = 29.999 s
  EXPECT_EQ(Total(100), 0);
  EXPECT_EQ(Group(44, "cdn=cdn-b"), 2);  // B, H
  EXPECT_EQ(Group(44, "live_event_id=live-1"), 1);
  EXPECT_EQ(Group(45, "live_event_id=live-1"), 0);
}

TEST_F(TruthTest, EverySecondMatchesTheDefinitionReadLiterally) {
  const std::vector<HandEvent> events = Events();
  for (int s = 0; s < 121; ++s) {
    const int64_t t = int64_t{s} * 1000 + 999;
    int64_t total = 0;
    std::map<std::string, int64_t> by_title;
    for (const auto& [id, session] : sessions_) {
      if (!CountsAt(events, id, t)) continue;
      ++total;
      by_title[Names()[kDimTitle][session.keys[kDimTitle]]]++;
    }
    EXPECT_EQ(Total(s), total) << "second " << s;
    EXPECT_EQ(Group(s, "title_id=tA"), by_title["tA"]) << "second " << s;
    EXPECT_EQ(Group(s, "title_id=tB"), by_title["tB"]) << "second " << s;
  }
}

TEST_F(TruthTest, LinesAreTheDocumentedNdjson) {
  EXPECT_EQ(lines_[0],
            "{\"at\":1700000000000,\"t\":1700000000999,\"total\":0,\"title_id\":{},\"country\":{},"
            "\"device_type\":{},\"cdn\":{},\"live_event_id\":{}}\n");
  EXPECT_EQ(lines_[3],
            "{\"at\":1700000003000,\"t\":1700000003999,\"total\":2,\"title_id\":{\"tA\":2},"
            "\"country\":{\"DE\":1,\"US\":1},\"device_type\":{\"tv\":2},\"cdn\":{\"cdn-a\":1,"
            "\"cdn-b\":1},\"live_event_id\":{}}\n");
}

}  // namespace
}  // namespace viewpipe::sim
