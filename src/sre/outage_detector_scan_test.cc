// The detector's evidence scans (outage_detector_scan.cc) and raise-only
// evaluations between ticks, on hand-built 1 s slices without noise.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <string>

#include "sre/outage_detector.h"
#include "sre/detector_test_fixture.h"

namespace viewpipe::sre {
namespace {

using testing::kTick;

using Cdns = std::map<std::string, QoeCounts>;

class ScanTest : public testing::SliceDetectorTest {
 protected:
  // A normal second of a CDN: `attempts` attempts (one failure every 60 s),
  // 300 sessions playing, one stall a second (started and ended, 300 ms).
  QoeCounts Normal(uint64_t attempts) const {
    QoeCounts c;
    c.attempts = attempts;
    c.ended_plays = attempts;
    c.vsf = (now_ / kTick) % 60 == 0 ? 1 : 0;
    c.playing_ms = 300 * kTick;
    c.stall_starts = 1;
    c.rebuffers = 1;
    c.stalled_ms = 300;
    return c;
  }
  // Slice [now, now + 1 s) with these CDNs' counts (and the total), then
  // the tick at its end.
  void Slice(const Cdns& cdns) {
    Put(cdns);
    EndSlice();
  }
  void Put(const Cdns& cdns) {
    GroupCounts& g = slices_[now_];
    for (const auto& [cdn, c] : cdns) {
      g[GroupKey{QoeDim::kTotal, ""}].Merge(c);
      g[GroupKey{QoeDim::kCdn, cdn}].Merge(c);
    }
  }
  // n normal seconds of cdn-x (and cdn-y) with `attempts` a second each.
  void Steady(int n, uint64_t attempts) {
    for (int i = 0; i < n; ++i) Slice({{"cdn-x", Normal(attempts)}, {"cdn-y", Normal(attempts)}});
  }
  std::vector<Alert> Cdn(const std::string& key) const { return AlertsOf("cdn", key, ""); }
};

TEST_F(ScanTest, ThinCdnOutageIsRaisedOnceItsFailuresAddUp) {
  // Two attempts a second and a failure in two seconds of three: no run of
  // three elevated seconds in a row, but the count since the start is
  // clear after a few seconds.
  Steady(200, 2);
  const int64_t outage = now_;
  for (int i = 0; i < 15; ++i) {
    QoeCounts c = Normal(2);
    c.vsf = i % 3 == 1 ? 0 : 1;
    Slice({{"cdn-x", c}, {"cdn-y", Normal(2)}});
  }
  const auto alerts = Cdn("cdn-x");
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].metric, "vsf_rate");
  EXPECT_EQ(alerts[0].started_at, outage);
  EXPECT_LE(alerts[0].detected_event_time - outage, 10 * kTick);
  EXPECT_TRUE(Cdn("cdn-y").empty());
}

TEST_F(ScanTest, BlipAfterANoiseFailureDoesNotAlertButALongerBurstDoes) {
  // cdn-x: a noise failure, then 2 s of every start failing (shorter than
  // persist_ms), then normal. The noise makes [noise, blip end) span 4 s:
  // the burst-free test still sees only the noise. cdn-y: the same burst
  // for 4 s is an outage.
  Steady(200, 6);
  QoeCounts noise = Normal(6), burst = Normal(6);
  noise.vsf = 1;
  burst.vsf = 6;
  Slice({{"cdn-x", noise}, {"cdn-y", Normal(6)}});
  Slice({{"cdn-x", Normal(6)}, {"cdn-y", Normal(6)}});
  const int64_t burst_start = now_;
  for (int i = 0; i < 4; ++i) Slice({{"cdn-x", i < 2 ? burst : Normal(6)}, {"cdn-y", burst}});
  Steady(30, 6);
  EXPECT_TRUE(Cdn("cdn-x").empty()) << Cdn("cdn-x")[0].id;
  // The total has two noise failures before the blips (cdn-y's periodic
  // one too): still concentrated, not raised ahead of cdn-y's.
  for (const Alert& a : book_.List(false, 0)) EXPECT_EQ(a.key, "cdn-y") << a.id;
  const auto y = Cdn("cdn-y");
  ASSERT_EQ(y.size(), 1u);
  EXPECT_EQ(y[0].started_at, burst_start);
  EXPECT_EQ(y[0].detected_event_time, burst_start + options_.persist_ms);
}

// A thin CDN's start-failure outage that also fails its playing sessions
// (a CDN that fails manifests fails segments): one attempt a second, a
// failed start every third second, but a playing session failing every
// second where one in 25 s is normal. The fatal errors of any kind raise it
// within seconds (on playback_failure_rate, which holds most of them);
// without that rule (fatal_surge_ratio 0), the failed starts and the
// failures as a share of ended plays take longer.
TEST_F(ScanTest, FatalErrorSurgeRaisesAThinCdnsOutageBeforeItsFailedStartsAddUp) {
  DetectorOptions off_options = options_;
  off_options.fatal_surge_ratio = 0;
  AlertBook off_book(nullptr, "");
  OutageDetector off(off_options, &off_book, &clock_);
  auto second = [&](bool outage, int i) {
    QoeCounts c;
    c.attempts = 1;
    c.ended_plays = 1;
    c.playing_ms = 100 * kTick;
    if (outage) {
      c.vsf = i % 3 == 2 ? 1 : 0;
      c.playback_failures = 1;
      c.ended_plays += 1;
    } else {
      c.vsf = (now_ / kTick) % 60 == 0 ? 1 : 0;
      c.playback_failures = (now_ / kTick) % 25 == 0 ? 1 : 0;
    }
    Put({{"cdn-x", c}});
    EndSlice();
    off.OnTick(now_, View());
  };
  for (int i = 0; i < 300; ++i) second(false, i);
  ASSERT_TRUE(Cdn("cdn-x").empty());
  const int64_t outage = now_;
  for (int i = 0; i < 20; ++i) second(true, i);
  const auto alerts = Cdn("cdn-x");
  ASSERT_EQ(alerts.size(), 1u) << alerts[0].id;
  EXPECT_EQ(alerts[0].metric, "playback_failure_rate");
  EXPECT_LE(std::abs(alerts[0].started_at - outage), kTick);
  EXPECT_LE(alerts[0].detected_event_time - outage, 8 * kTick);
  int64_t off_detected = INT64_MAX;
  for (const Alert& a : off_book.List(false, 0)) {
    if (a.dimension == "cdn") off_detected = std::min(off_detected, a.detected_event_time);
  }
  EXPECT_GT(off_detected, alerts[0].detected_event_time + 2 * kTick);
}

// The same detector in normal traffic with a playing session failing now
// and then, and two failing in the same second twice: nothing raised.
TEST_F(ScanTest, FatalErrorsAtTheirNormalRateDoNotAlert) {
  for (int i = 0; i < 900; ++i) {
    QoeCounts c;
    c.attempts = 1;
    c.ended_plays = 1;
    c.playing_ms = 100 * kTick;
    c.vsf = i % 60 == 7 ? 1 : 0;
    c.playback_failures = i % 25 == 3 ? (i % 300 == 3 ? 2 : 1) : 0;
    Put({{"cdn-x", c}});
    EndSlice();
  }
  EXPECT_TRUE(Cdn("cdn-x").empty()) << Cdn("cdn-x")[0].id;
}

TEST_F(ScanTest, StallStartSurgeRaisesBeforeAnyStallEnds) {
  // 15 stalls a second begin (1 before) and none has ended yet: no stalled
  // time, so the ratio itself has not moved; the stall starts raise it.
  Steady(200, 4);
  const int64_t surge = now_;
  for (int i = 0; i < 6; ++i) {
    QoeCounts c = Normal(4);
    c.stall_starts = 15;
    c.rebuffers = 0;
    c.stalled_ms = 0;
    Slice({{"cdn-x", c}, {"cdn-y", Normal(4)}});
  }
  const auto alerts = Cdn("cdn-x");
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].metric, "rebuffer_ratio");
  EXPECT_EQ(alerts[0].started_at, surge);
  EXPECT_EQ(alerts[0].detected_event_time, surge + options_.persist_ms);
  EXPECT_TRUE(Cdn("cdn-y").empty());
}

TEST_F(ScanTest, StallStartBlipDoesNotAlert) {
  Steady(200, 4);
  QoeCounts c = Normal(4);
  c.stall_starts = 15;
  for (int i = 0; i < 2; ++i) Slice({{"cdn-x", c}, {"cdn-y", Normal(4)}});
  Steady(40, 4);
  EXPECT_TRUE(Cdn("cdn-x").empty()) << Cdn("cdn-x")[0].id;
}

TEST_F(ScanTest, PartialTickRaisesBetweenTicksAndLearnsNothing) {
  Steady(200, 6);
  // Between ticks with normal data: the state (baselines, silence) is
  // exactly what it was.
  std::string before, after;
  detector_.Save(&before);
  Put({{"cdn-x", Normal(6)}, {"cdn-y", Normal(6)}});
  detector_.OnPartialTick(now_ + 500, View());
  detector_.Save(&after);
  EXPECT_EQ(before, after);
  slices_.erase(now_);
  // Three seconds of an outage whose evidence is not clear yet at the
  // tick; more failures of the fourth second arrive before its end.
  const int64_t outage = now_;
  for (uint64_t failures : {2, 1, 1}) {
    QoeCounts c = Normal(6);
    c.vsf = failures;
    Slice({{"cdn-x", c}, {"cdn-y", Normal(6)}});
  }
  EXPECT_TRUE(Cdn("cdn-x").empty()) << "raised at the tick already";
  QoeCounts c = Normal(6);
  c.vsf = 3;
  Put({{"cdn-x", c}, {"cdn-y", Normal(6)}});
  clock_.Advance(400);
  detector_.OnPartialTick(now_ + 400, View());
  const auto alerts = Cdn("cdn-x");
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].started_at, outage);
  EXPECT_EQ(alerts[0].detected_event_time, now_ + 400);
  EXPECT_TRUE(alerts[0].open);
}

TEST_F(ScanTest, CheckpointKeepsTheLearnedStallsAndRejectsThePreviousFormat) {
  Steady(200, 4);
  std::string saved;
  detector_.Save(&saved);
  // A restored detector raises the surge as the original does: it has the
  // learned stall-start rate (the span alone is not a reference yet: the
  // surge starts right after a restart with an empty span).
  OutageDetector restored(options_, &book_, &clock_);
  std::string_view in = saved;
  ASSERT_TRUE(restored.Load(&in));
  EXPECT_TRUE(in.empty());
  std::string again;
  restored.Save(&again);
  EXPECT_EQ(again, saved);
  slices_.clear();
  const int64_t surge = now_;
  for (int i = 0; i < 4; ++i) {
    QoeCounts c = Normal(4);
    c.stall_starts = 15;
    Put({{"cdn-x", c}, {"cdn-y", Normal(4)}});
    now_ += kTick;
    restored.OnTick(now_, View());
  }
  const auto alerts = Cdn("cdn-x");
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].started_at, surge);
  // The previous format began with the open alert counts (small signed
  // varints) and had no learned stalls: rejected, never misread.
  const std::string old_format(6, '\0');  // no open alerts, none covered, no groups
  std::string_view old_in = old_format;
  EXPECT_FALSE(restored.Load(&old_in));
}

}  // namespace
}  // namespace viewpipe::sre
