#include "ops/session_tracker.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "common/sanitizer.h"
#include "ops/ops_test_util.h"
#include "ops/time_math.h"

namespace viewpipe::ops {
namespace {

using testing::Oracle;
using testing::TestEvent;
using testing::TrackerCount;

using testing::kB;
using testing::kMs;

class SessionTrackerTest : public ::testing::Test {
 protected:
  explicit SessionTrackerTest(TrackerOptions options = TrackerOptions())
      : tracker_(options), oracle_(options.timeout_ms) {}

  void Apply(const TestEvent& e) {
    tracker_.Apply(e.View());
    oracle_.Add(e);
  }
  TestEvent Ev(const std::string& session, EventType type, int64_t ts, bool fatal = false) {
    TestEvent e;
    e.session = session;
    e.type = type;
    e.ts = ts;
    e.fatal = fatal;
    return e;
  }
  int64_t Count(int64_t second) { return TrackerCount(tracker_, second); }
  // Tracker and oracle agree on every second in [from, to], for the total
  // and the given dimension values.
  void ExpectMatches(int64_t from, int64_t to,
                     const std::vector<std::pair<Dimension, std::string>>& keys = {}) {
    for (int64_t s = from; s <= to; ++s) {
      ASSERT_EQ(TrackerCount(tracker_, s), oracle_.Count(s)) << "total at second " << s - kB;
      for (const auto& [d, key] : keys) {
        ASSERT_EQ(TrackerCount(tracker_, s, &d, key), oracle_.Count(s, &d, key))
            << DimensionName(d) << "=" << key << " at second " << s - kB;
      }
    }
  }

  SessionTracker tracker_;
  Oracle oracle_;
};

TEST_F(SessionTrackerTest, AttemptAloneCountsUntilTheTimeout) {
  Apply(Ev("s", EventType::kAttempt, kMs + 500));
  EXPECT_EQ(Count(kB - 1), 0);
  EXPECT_EQ(Count(kB), 1);       // t = kB*1000+999 >= ts
  EXPECT_EQ(Count(kB + 29), 1);  // t - ts = 29499
  EXPECT_EQ(Count(kB + 30), 0);  // t - ts = 30499 > 30000
  ExpectMatches(kB - 5, kB + 40);
}

TEST_F(SessionTrackerTest, TimeoutBoundaryIsInclusiveAt30000) {
  Apply(Ev("exact", EventType::kAttempt, kMs + 999));  // t - ts = 30000 at second kB+30
  Apply(Ev("over", EventType::kAttempt, kMs + 998));   // t - ts = 30001 at second kB+30
  const Dimension title = Dimension::kTitle;
  EXPECT_EQ(Count(kB + 29), 2);
  EXPECT_EQ(Count(kB + 30), 1);
  EXPECT_EQ(Count(kB + 31), 0);
  ExpectMatches(kB - 2, kB + 35, {{title, "t1"}});
}

TEST_F(SessionTrackerTest, PlayStartWithoutAttemptCounts) {
  Apply(Ev("s", EventType::kPlayStart, kMs + 100));
  EXPECT_EQ(Count(kB), 1);
  ExpectMatches(kB - 1, kB + 35);
}

TEST_F(SessionTrackerTest, HeartbeatsKeepTheSessionAlive) {
  Apply(Ev("s", EventType::kAttempt, kMs));
  Apply(Ev("s", EventType::kPlayStart, kMs + 1200));
  for (int i = 1; i <= 10; ++i) Apply(Ev("s", EventType::kHeartbeat, kMs + i * 10000));
  EXPECT_EQ(Count(kB + 100), 1);
  EXPECT_EQ(Count(kB + 129), 1);  // last heartbeat at +100 s: t - ts = 29999
  EXPECT_EQ(Count(kB + 130), 0);  // 30999
  ExpectMatches(kB - 1, kB + 140);
}

TEST_F(SessionTrackerTest, HeartbeatsWithoutStartNeverCount) {
  for (int i = 0; i < 5; ++i) Apply(Ev("s", EventType::kHeartbeat, kMs + i * 10000));
  ExpectMatches(kB - 1, kB + 90);
  EXPECT_EQ(Count(kB + 10), 0);
}

TEST_F(SessionTrackerTest, StopEndsTheSessionInItsOwnSecond) {
  Apply(Ev("s", EventType::kAttempt, kMs));
  Apply(Ev("s", EventType::kHeartbeat, kMs + 10000));
  Apply(Ev("s", EventType::kStop, kMs + 15500));
  EXPECT_EQ(Count(kB + 14), 1);
  EXPECT_EQ(Count(kB + 15), 0);
  EXPECT_EQ(Count(kB + 20), 0);
  ExpectMatches(kB - 1, kB + 60);
}

TEST_F(SessionTrackerTest, FatalErrorEndsTheSessionNonFatalDoesNot) {
  Apply(Ev("fatal", EventType::kAttempt, kMs));
  Apply(Ev("fatal", EventType::kError, kMs + 5000, /*fatal=*/true));
  Apply(Ev("soft", EventType::kAttempt, kMs));
  Apply(Ev("soft", EventType::kError, kMs + 5000, /*fatal=*/false));
  EXPECT_EQ(Count(kB + 4), 2);
  EXPECT_EQ(Count(kB + 5), 1);
  EXPECT_EQ(Count(kB + 34), 1);  // the non-fatal error is an event like any: 29999 after it
  EXPECT_EQ(Count(kB + 35), 0);
  ExpectMatches(kB - 1, kB + 60);
}

TEST_F(SessionTrackerTest, ExitBeforeStartCountsFromAttemptToStop) {
  Apply(Ev("s", EventType::kAttempt, kMs + 200));
  Apply(Ev("s", EventType::kStop, kMs + 3200));
  EXPECT_EQ(Count(kB + 2), 1);
  EXPECT_EQ(Count(kB + 3), 0);
  ExpectMatches(kB - 1, kB + 40);
}

TEST_F(SessionTrackerTest, StopAndHeartbeatInTheSameMsEndTheSession) {
  Apply(Ev("a", EventType::kAttempt, kMs));
  Apply(Ev("a", EventType::kStop, kMs + 5000));
  Apply(Ev("a", EventType::kHeartbeat, kMs + 5000));
  Apply(Ev("b", EventType::kAttempt, kMs));
  Apply(Ev("b", EventType::kHeartbeat, kMs + 5000));
  Apply(Ev("b", EventType::kStop, kMs + 5000));
  EXPECT_EQ(Count(kB + 5), 0);
  ExpectMatches(kB - 1, kB + 40);
}

TEST_F(SessionTrackerTest, EventsAfterAStopStartCountingAgain) {
  Apply(Ev("s", EventType::kAttempt, kMs));
  Apply(Ev("s", EventType::kStop, kMs + 2000));
  Apply(Ev("s", EventType::kHeartbeat, kMs + 9000));
  EXPECT_EQ(Count(kB + 5), 0);
  EXPECT_EQ(Count(kB + 9), 1);
  ExpectMatches(kB - 1, kB + 45);
}

TEST_F(SessionTrackerTest, LateStopCorrectsThePastSecondsItBelongsTo) {
  Apply(Ev("s", EventType::kAttempt, kMs));
  for (int i = 1; i <= 30; ++i) Apply(Ev("s", EventType::kHeartbeat, kMs + i * 10000));
  tracker_.AdvanceWatermark(kMs + 300000);
  const int64_t as_of = tracker_.as_of();
  EXPECT_EQ(Count(kB + 100), 1);
  EXPECT_EQ(tracker_.series().Current(ViewerSeries::kTotal), 1);
  // A stop from 95 s arrives 205 s late: the session ended then, restarted
  // with the heartbeat at 100 s (events after a stop count again).
  Apply(Ev("s", EventType::kStop, kMs + 95000));
  EXPECT_EQ(Count(kB + 94), 1);
  EXPECT_EQ(Count(kB + 95), 0);
  EXPECT_EQ(Count(kB + 99), 0);
  EXPECT_EQ(Count(kB + 100), 1);
  EXPECT_EQ(tracker_.stats().late_beyond_bound, 0u);
  ExpectMatches(kB - 1, kB + 340);
  EXPECT_EQ(tracker_.series().Current(ViewerSeries::kTotal), Count(as_of));
}

TEST_F(SessionTrackerTest, LateAttemptStartsTheSessionEarlier) {
  Apply(Ev("s", EventType::kHeartbeat, kMs + 10000));
  Apply(Ev("s", EventType::kHeartbeat, kMs + 20000));
  Apply(Ev("s", EventType::kPlayStart, kMs + 25000));
  EXPECT_EQ(Count(kB + 22), 0);
  Apply(Ev("s", EventType::kAttempt, kMs + 5000));  // late
  EXPECT_EQ(Count(kB + 5), 1);
  EXPECT_EQ(Count(kB + 22), 1);
  ExpectMatches(kB - 1, kB + 70);
}

TEST_F(SessionTrackerTest, OutOfOrderAndDuplicatedEventsGiveTheInOrderCounts) {
  std::vector<TestEvent> events = {
      Ev("a", EventType::kAttempt, kMs),          Ev("a", EventType::kPlayStart, kMs + 900),
      Ev("a", EventType::kHeartbeat, kMs + 10000), Ev("a", EventType::kPause, kMs + 12000),
      Ev("a", EventType::kHeartbeat, kMs + 20000), Ev("a", EventType::kHeartbeat, kMs + 55000),
      Ev("a", EventType::kStop, kMs + 60000),     Ev("b", EventType::kAttempt, kMs + 3000),
      Ev("b", EventType::kError, kMs + 4000, true)};
  std::mt19937 rng(7);
  for (int round = 0; round < 20; ++round) {
    SessionTracker t{TrackerOptions()};
    std::vector<TestEvent> order = events;
    std::shuffle(order.begin(), order.end(), rng);
    order.insert(order.end(), events.begin(), events.begin() + 4);  // retries
    for (const TestEvent& e : order) t.Apply(e.View());
    if (round == 0) {
      for (const TestEvent& e : events) Apply(e);
    }
    for (int64_t s = kB - 1; s <= kB + 100; ++s) {
      ASSERT_EQ(TrackerCount(t, s), Count(s)) << "round " << round << " second " << s - kB;
    }
  }
  ExpectMatches(kB - 1, kB + 100);
}

TEST_F(SessionTrackerTest, ExactDuplicatesChangeNothing) {
  Apply(Ev("s", EventType::kAttempt, kMs));
  Apply(Ev("s", EventType::kHeartbeat, kMs + 10000));
  Apply(Ev("s", EventType::kStop, kMs + 12000));
  std::vector<int64_t> before;
  for (int64_t s = kB - 1; s <= kB + 50; ++s) before.push_back(Count(s));
  tracker_.Apply(Ev("s", EventType::kAttempt, kMs).View());
  tracker_.Apply(Ev("s", EventType::kHeartbeat, kMs + 10000).View());
  tracker_.Apply(Ev("s", EventType::kStop, kMs + 12000).View());
  for (int64_t s = kB - 1; s <= kB + 50; ++s) EXPECT_EQ(Count(s), before[s - kB + 1]);
}

TEST_F(SessionTrackerTest, CountsPerDimensionUseTheFirstEventsValues) {
  TestEvent a = Ev("a", EventType::kAttempt, kMs);
  a.title = "t1";
  a.country = "DE";
  a.device = DeviceType::kMobile;
  a.cdn = "cdn-b";
  a.live = "final";
  TestEvent b = Ev("b", EventType::kAttempt, kMs + 1000);
  b.title = "t2";
  b.country = "DE";
  TestEvent a2 = Ev("a", EventType::kHeartbeat, kMs + 10000);
  a2.cdn = "cdn-c";  // a CDN switch does not move the session
  Apply(a);
  Apply(b);
  Apply(a2);
  const Dimension title = Dimension::kTitle, country = Dimension::kCountry,
                  device = Dimension::kDevice, cdn = Dimension::kCdn,
                  live = Dimension::kLiveEvent;
  EXPECT_EQ(TrackerCount(tracker_, kB + 5, &country, "DE"), 2);
  EXPECT_EQ(TrackerCount(tracker_, kB + 5, &title, "t2"), 1);
  EXPECT_EQ(TrackerCount(tracker_, kB + 5, &cdn, "cdn-c"), 0);
  EXPECT_EQ(TrackerCount(tracker_, kB + 35, &live, "final"), 1);
  EXPECT_EQ(TrackerCount(tracker_, kB + 35, &country, "DE"), 1);
  ExpectMatches(kB - 1, kB + 50,
                {{title, "t1"}, {title, "t2"}, {country, "DE"}, {device, "mobile"},
                 {device, "tv"}, {cdn, "cdn-a"}, {cdn, "cdn-b"}, {live, "final"}});
}

TEST_F(SessionTrackerTest, CurrentFollowsTheNewestCompleteSecond) {
  Apply(Ev("s", EventType::kAttempt, kMs + 100));
  tracker_.AdvanceWatermark(kMs + 999 + 200);  // second kB is complete
  EXPECT_EQ(tracker_.as_of(), kB);
  EXPECT_EQ(tracker_.series().Current(ViewerSeries::kTotal), 1);
  tracker_.AdvanceWatermark(kMs + 40000);
  EXPECT_EQ(tracker_.series().Current(ViewerSeries::kTotal), 0);
  tracker_.AdvanceWatermark(kMs + 1198);  // never back
  EXPECT_EQ(tracker_.as_of(), SecondOf(kMs + 40000 - 200 + 1) - 1);
}

TEST_F(SessionTrackerTest, EventsBeyondTheBoundAreCountedAndStillApplied) {
  Apply(Ev("s", EventType::kAttempt, kMs));
  for (int i = 1; i <= 100; ++i) Apply(Ev("s", EventType::kHeartbeat, kMs + i * 10000));
  tracker_.AdvanceWatermark(kMs + 1000000);  // mutable seconds start at +400 s
  const int64_t frozen_at_50 = Count(kB + 50);
  // A stop from +50 s: beyond the bound, its second stays frozen.
  tracker_.Apply(Ev("s", EventType::kStop, kMs + 50000).View());
  EXPECT_EQ(tracker_.stats().late_beyond_bound, 1u);
  EXPECT_EQ(Count(kB + 50), frozen_at_50);
  // A stop at +995 s (within the bound) ends the session there.
  tracker_.Apply(Ev("s", EventType::kStop, kMs + 995000).View());
  EXPECT_EQ(Count(kB + 996), 0);
  EXPECT_EQ(tracker_.stats().late_beyond_bound, 1u);
}

TEST_F(SessionTrackerTest, IdleSessionsAreEvictedAfterTimeoutPlusLateness) {
  Apply(Ev("old", EventType::kAttempt, kMs));
  Apply(Ev("new", EventType::kAttempt, kMs + 700000));
  tracker_.AdvanceWatermark(kMs + 700000);
  tracker_.EvictIdle(100);
  EXPECT_EQ(tracker_.sessions(), 1u);  // "old" went quiet 700 s ago > 30 s + 600 s
  EXPECT_EQ(tracker_.stats().sessions_evicted, 1u);
  EXPECT_EQ(Count(kB + 10), 1);  // its history stays
}

// ------------------------------------------------------------ randomized

struct RandomRun {
  int sessions = 300;
  int64_t max_delay_ms = 240000;  // arrival delay of late events
  double late_fraction = 0.05;
  double duplicate_fraction = 0.03;
  int64_t max_gap_ms = 60000;
  int64_t session_ms = 900000;
  bool evict = false;
};

// Sessions of random shape, delivered with random delays and retries;
// checks every second of every key against the oracle.
void RunRandom(uint32_t seed, const TrackerOptions& options, const RandomRun& run) {
  std::mt19937_64 rng(seed);
  auto uniform = [&rng](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  };
  auto chance = [&rng](double p) { return std::uniform_real_distribution<>(0, 1)(rng) < p; };
  const char* titles[] = {"t1", "t2", "t3", "t4"};
  const char* countries[] = {"US", "DE", "BR"};
  const char* cdns[] = {"cdn-a", "cdn-b"};
  const char* lives[] = {"", "", "final"};
  std::vector<TestEvent> events;
  for (int i = 0; i < run.sessions; ++i) {
    TestEvent base;
    base.session = "s" + std::to_string(i);
    base.title = titles[uniform(0, 3)];
    base.country = countries[uniform(0, 2)];
    base.device = static_cast<DeviceType>(uniform(1, 6));
    base.cdn = cdns[uniform(0, 1)];
    base.live = lives[uniform(0, 2)];
    int64_t ts = kMs + uniform(0, 600000);
    const int64_t end = ts + uniform(1000, run.session_ms);
    auto add = [&](EventType type, bool fatal = false) {
      TestEvent e = base;
      e.type = type;
      e.ts = ts;
      e.fatal = fatal;
      events.push_back(e);
    };
    if (!chance(0.05)) add(EventType::kAttempt);
    ts += uniform(0, 3000);
    if (!chance(0.1)) add(EventType::kPlayStart);
    while (ts < end) {
      ts += chance(0.05) ? uniform(20000, run.max_gap_ms) : uniform(9000, 11000);
      const int r = static_cast<int>(uniform(0, 99));
      if (r < 3) add(EventType::kError, false);
      else if (r < 5) add(EventType::kPause);
      else if (r < 6) add(EventType::kStop);  // and maybe more events after it
      else add(EventType::kHeartbeat);
      if (chance(0.02)) add(EventType::kHeartbeat);  // same ms
    }
    const int r = static_cast<int>(uniform(0, 9));
    if (r < 5) add(EventType::kStop);
    else if (r < 7) add(EventType::kError, true);
  }
  // Arrival: a little jitter for most, long delays for some, retries.
  struct Arrival {
    int64_t at;
    size_t index;
  };
  std::vector<Arrival> arrivals;
  for (size_t i = 0; i < events.size(); ++i) {
    const int64_t delay =
        chance(run.late_fraction) ? uniform(0, run.max_delay_ms) : uniform(0, 1500);
    arrivals.push_back({events[i].ts + delay, i});
    if (chance(run.duplicate_fraction)) arrivals.push_back({events[i].ts + uniform(0, 120000), i});
  }
  std::stable_sort(arrivals.begin(), arrivals.end(),
                   [](const Arrival& a, const Arrival& b) { return a.at < b.at; });
  SessionTracker tracker(options);
  Oracle oracle(options.timeout_ms);
  int64_t watermark = INT64_MIN;
  int64_t max_ts = INT64_MIN;
  for (size_t i = 0; i < arrivals.size(); ++i) {
    TestEvent e = events[arrivals[i].index];
    e.received_at = arrivals[i].at;
    tracker.Apply(e.View());
    oracle.Add(e);
    max_ts = std::max(max_ts, e.ts);
    watermark = std::max(watermark, SessionTracker::WatermarkTime(e.View()));
    if (i % 64 == 0) {
      tracker.AdvanceWatermark(watermark);
      if (run.evict) tracker.EvictIdle(200);
    }
  }
  tracker.AdvanceWatermark(watermark);
  ASSERT_EQ(tracker.stats().late_beyond_bound, 0u) << "the run must stay within the bound";
  int64_t first = SecondOf(kMs) - 2;
  for (int64_t s = first; s <= SecondOf(max_ts) + 35; ++s) {
    ASSERT_EQ(TrackerCount(tracker, s), oracle.Count(s)) << "seed " << seed << " second " << s - kB;
    for (Dimension d : kAllDimensions) {
      const char* const* values = d == Dimension::kTitle     ? titles
                                  : d == Dimension::kCountry ? countries
                                  : d == Dimension::kCdn     ? cdns
                                                             : nullptr;
      std::vector<std::string> keys;
      if (values != nullptr) {
        for (int k = 0; k < (d == Dimension::kTitle ? 4 : d == Dimension::kCountry ? 3 : 2); ++k)
          keys.push_back(values[k]);
      } else if (d == Dimension::kDevice) {
        keys = {"tv", "mobile", "web"};
      } else {
        keys = {"final"};
      }
      for (const std::string& key : keys) {
        ASSERT_EQ(TrackerCount(tracker, s, &d, key), oracle.Count(s, &d, key))
            << "seed " << seed << " " << DimensionName(d) << "=" << key << " second " << s - kB;
      }
    }
  }
  // The live number is the series at as_of.
  EXPECT_EQ(tracker.series().Current(ViewerSeries::kTotal),
            TrackerCount(tracker, tracker.as_of()));
}

TEST(SessionTrackerRandomTest, LateOutOfOrderAndRetriedEventsMatchTheDefinition) {
  const uint32_t seeds = kUnderSanitizer ? 1 : 6;
  for (uint32_t seed = 1; seed <= seeds; ++seed) RunRandom(seed, TrackerOptions(), RandomRun());
}

TEST(SessionTrackerRandomTest, ShortLatenessBoundCompactsAndEvicts) {
  TrackerOptions options;
  options.lateness_ms = 20000;
  options.retention_ms = 3600 * 1000;
  RandomRun run;
  run.max_delay_ms = 8000;
  run.max_gap_ms = 35000;
  run.evict = true;
  run.duplicate_fraction = 0;  // a retry may come after the lateness bound
  const uint32_t seeds = kUnderSanitizer ? 1 : 6;
  for (uint32_t seed = 10; seed < 10 + seeds; ++seed) RunRandom(seed, options, run);
}

TEST(SessionTrackerRandomTest, LongSessionsGrowAndDropTheirTrails) {
  RandomRun run;
  run.sessions = 40;
  run.session_ms = 3 * 3600 * 1000;
  const uint32_t seeds = kUnderSanitizer ? 1 : 3;
  for (uint32_t seed = 20; seed < 20 + seeds; ++seed) RunRandom(seed, TrackerOptions(), run);
}

}  // namespace
}  // namespace viewpipe::ops
