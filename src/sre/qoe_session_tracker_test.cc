// The QoE definitions of events.md on hand-built event sequences.
#include "sre/qoe_session_tracker.h"

#include <gtest/gtest.h>

#include <map>

#include "sre/sre_test_util.h"

namespace viewpipe::sre {
namespace {

using testing::Ev;
using T = EventType;

class QoeTrackerTest : public ::testing::Test {
 protected:
  QoeTrackerTest() : windows_(10000), tracker_(options_, &windows_) {}
  void Apply(const Ev& e) { tracker_.Apply(e); }
  // Ends silent sessions up to t and closes every window ending by t: the
  // total per window start.
  std::map<int64_t, QoeCounts> Close(int64_t t) {
    tracker_.ExpireBefore(t);
    for (auto& [start, groups] : windows_.CloseThrough(t)) {
      closed_[start] = groups[GroupKey{QoeDim::kTotal, ""}];
      by_cdn_[start] = groups;
    }
    return closed_;
  }
  QoeCounts Sum(int64_t t) {
    QoeCounts sum;
    for (const auto& [s, c] : Close(t)) sum.Merge(c);
    return sum;
  }

  QoeOptions options_;
  OpenWindows windows_;
  QoeSessionTracker tracker_;
  std::map<int64_t, QoeCounts> closed_;
  std::map<int64_t, GroupCounts> by_cdn_;
};

TEST_F(QoeTrackerTest, StartCountsAttemptPlayAndStartupTime) {
  Apply(Ev(T::kAttempt, 1000));
  Apply(Ev(T::kPlayStart, 1800).Startup(800));
  const QoeCounts c = Sum(10000);
  EXPECT_EQ(c.attempts, 1u);
  EXPECT_EQ(c.plays, 1u);
  EXPECT_EQ(c.vsf + c.ebvs, 0u);
  const QoeMetrics m = ComputeMetrics(c);
  EXPECT_NEAR(m.vst_p50_ms, 800, 5);
  EXPECT_NEAR(m.vst_p95_ms, 800, 5);
}

TEST_F(QoeTrackerTest, FatalErrorBeforeStartIsVsfNotEbvs) {
  Apply(Ev(T::kAttempt, 1000));
  Apply(Ev(T::kError, 3000).Fatal(true));
  Apply(Ev(T::kStop, 3500));  // after the end: ignored
  const QoeCounts c = Sum(10000);
  EXPECT_EQ(c.vsf, 1u);
  EXPECT_EQ(c.ebvs, 0u);
  EXPECT_EQ(c.playback_failures, 0u);
  EXPECT_DOUBLE_EQ(ComputeMetrics(c).vsf_rate, 1.0);
}

TEST_F(QoeTrackerTest, StopBeforeStartIsEbvsAndANonFatalErrorDoesNotMakeItVsf) {
  Apply(Ev(T::kAttempt, 1000, "a"));
  Apply(Ev(T::kError, 2000, "a").Fatal(false));
  Apply(Ev(T::kStop, 3000, "a"));
  Apply(Ev(T::kAttempt, 1000, "b"));
  Apply(Ev(T::kPlayStart, 2000, "b").Startup(1000));
  const QoeCounts c = Sum(10000);
  EXPECT_EQ(c.attempts, 2u);
  EXPECT_EQ(c.ebvs, 1u);
  EXPECT_EQ(c.vsf, 0u);
  EXPECT_DOUBLE_EQ(ComputeMetrics(c).ebvs_rate, 0.5);
}

TEST_F(QoeTrackerTest, SilenceBeforeStartIsEbvsAtTheTimeout) {
  Apply(Ev(T::kAttempt, 1000));
  Apply(Ev(T::kHeartbeat, 5000));  // still starting
  auto closed = Close(30000);
  EXPECT_EQ(tracker_.sessions(), 1u);  // 5000 + 30000 not reached
  closed = Close(40000);
  EXPECT_EQ(tracker_.sessions(), 0u);
  EXPECT_EQ(closed[0].attempts, 1u);
  EXPECT_EQ(closed[0].ebvs, 0u);
  EXPECT_EQ(closed[30000].ebvs, 1u);  // at last event + timeout = 35000
  EXPECT_EQ(tracker_.stats().timeouts, 1u);
}

TEST_F(QoeTrackerTest, FatalErrorAfterStartIsPlaybackFailure) {
  Apply(Ev(T::kAttempt, 1000));
  Apply(Ev(T::kPlayStart, 2000).Startup(1000));
  Apply(Ev(T::kError, 6000).Fatal(true));
  Apply(Ev(T::kAttempt, 1000, "s2"));
  Apply(Ev(T::kPlayStart, 2000, "s2").Startup(1000));
  Apply(Ev(T::kStop, 7000, "s2"));
  const QoeCounts c = Sum(10000);
  EXPECT_EQ(c.vsf, 0u);
  EXPECT_EQ(c.playback_failures, 1u);
  EXPECT_EQ(c.ended_plays, 2u);
  EXPECT_DOUBLE_EQ(ComputeMetrics(c).playback_failure_rate, 0.5);
  EXPECT_EQ(c.playing_ms, 4000 + 5000);
}

TEST_F(QoeTrackerTest, RebufferSpanningWindowsCountsInEachForItsPart) {
  Apply(Ev(T::kPlayStart, 5000).Startup(500));
  Apply(Ev(T::kRebufferStart, 8000));
  Apply(Ev(T::kHeartbeat, 10000).Bitrate(3000));  // stalled: no playing time
  Apply(Ev(T::kRebufferEnd, 12000).Rebuffer(4000));
  Apply(Ev(T::kHeartbeat, 15000).Bitrate(3000));
  auto closed = Close(20000);
  EXPECT_EQ(closed[0].playing_ms, 3000);
  EXPECT_EQ(closed[0].stalled_ms, 2000);
  EXPECT_EQ(closed[10000].playing_ms, 3000);
  EXPECT_EQ(closed[10000].stalled_ms, 2000);
  EXPECT_EQ(closed[10000].rebuffers, 1u);
  EXPECT_DOUBLE_EQ(ComputeMetrics(closed[0]).rebuffer_ratio, 2000.0 / 5000.0);
}

TEST_F(QoeTrackerTest, PausedTimeIsNotPlaying) {
  Apply(Ev(T::kPlayStart, 0).Startup(500));
  Apply(Ev(T::kPause, 2000));
  Apply(Ev(T::kHeartbeat, 10000));
  Apply(Ev(T::kSeek, 12000));           // a seek while paused does not resume
  Apply(Ev(T::kBitrateChange, 13000));  // nor does a bitrate change
  Apply(Ev(T::kResume, 20000));
  Apply(Ev(T::kHeartbeat, 25000));
  EXPECT_EQ(Sum(30000).playing_ms, 2000 + 5000);
}

TEST_F(QoeTrackerTest, SeekWhilePlayingKeepsPlaying) {
  Apply(Ev(T::kPlayStart, 0).Startup(500));
  Apply(Ev(T::kSeek, 3000));
  Apply(Ev(T::kHeartbeat, 10000));
  Apply(Ev(T::kStop, 14000));
  Apply(Ev(T::kHeartbeat, 19000));  // after stop: ignored
  EXPECT_EQ(Sum(20000).playing_ms, 14000);
}

TEST_F(QoeTrackerTest, AGapLongerThanTheTimeoutIsNotPlaying) {
  Apply(Ev(T::kPlayStart, 0).Startup(500));
  Apply(Ev(T::kHeartbeat, 50000));
  EXPECT_EQ(Sum(60000).playing_ms, options_.session_timeout_ms);
}

TEST_F(QoeTrackerTest, AverageBitrateIsOverHeartbeatsAndAbsurdOnesAreLeftOut) {
  Apply(Ev(T::kPlayStart, 0).Startup(500));
  Apply(Ev(T::kBitrateChange, 1000).Bitrate(8000));  // not a heartbeat
  Apply(Ev(T::kHeartbeat, 2000).Bitrate(3000));
  Apply(Ev(T::kHeartbeat, 4000).Bitrate(5000));
  Apply(Ev(T::kHeartbeat, 6000).Bitrate(1000000000));
  const QoeCounts c = Sum(10000);
  EXPECT_EQ(c.bitrate_samples, 2u);
  EXPECT_DOUBLE_EQ(ComputeMetrics(c).avg_bitrate_kbps, 4000);
  EXPECT_EQ(tracker_.stats().absurd_bitrate, 1u);
}

TEST_F(QoeTrackerTest, AbsurdStartupIsLeftOutOfVstAndAbsurdStallIsClamped) {
  Apply(Ev(T::kAttempt, 0, "a"));
  Apply(Ev(T::kPlayStart, 1000, "a").Startup(3600 * 1000));
  Apply(Ev(T::kAttempt, 0, "b"));
  Apply(Ev(T::kPlayStart, 1000, "b").Startup(1200));
  Apply(Ev(T::kRebufferStart, 2000, "b"));
  Apply(Ev(T::kRebufferEnd, 700000, "b").Rebuffer(2000000000));
  const QoeCounts c = Sum(710000);
  EXPECT_EQ(c.plays, 2u);
  EXPECT_EQ(c.vst.count(), 1u);
  EXPECT_NEAR(ComputeMetrics(c).vst_p95_ms, 1200, 25);
  EXPECT_EQ(c.stalled_ms, options_.max_rebuffer_ms);
  EXPECT_EQ(tracker_.stats().absurd_startup, 1u);
  EXPECT_EQ(tracker_.stats().absurd_rebuffer, 1u);
}

TEST_F(QoeTrackerTest, SessionSeenMidwayCountsPlayingButNoStart) {
  Apply(Ev(T::kHeartbeat, 1000).Bitrate(2000));
  Apply(Ev(T::kHeartbeat, 11000).Bitrate(2000));
  Apply(Ev(T::kStop, 15000));
  const QoeCounts c = Sum(20000);
  EXPECT_EQ(c.attempts, 0u);
  EXPECT_EQ(c.ebvs, 0u);
  EXPECT_EQ(c.playing_ms, 14000);
  EXPECT_EQ(c.ended_plays, 0u);
}

TEST_F(QoeTrackerTest, EventsForAClosedWindowAreKeptAsideAndCounted) {
  Apply(Ev(T::kAttempt, 25000, "a"));
  Close(20000);
  Apply(Ev(T::kAttempt, 5000, "b"));
  EXPECT_EQ(tracker_.stats().late_contributions, 1u);
  auto late = windows_.TakeLate();
  ASSERT_EQ(late.size(), 1u);
  EXPECT_EQ((late[0][GroupKey{QoeDim::kTotal, ""}].attempts), 1u);
  EXPECT_TRUE(windows_.TakeLate().empty());
  EXPECT_EQ(Sum(30000).attempts, 1u);
}

TEST_F(QoeTrackerTest, GroupsSplitByCdnAndCountry) {
  Apply(Ev(T::kAttempt, 1000, "a", "cdn-a", "DE"));
  Apply(Ev(T::kAttempt, 1000, "b", "cdn-b", "DE"));
  Apply(Ev(T::kError, 2000, "b", "cdn-b", "DE").Fatal(true));
  Close(10000);
  const GroupCounts& g = by_cdn_[0];
  EXPECT_EQ(g.at(GroupKey{QoeDim::kCdn, "cdn-b"}).vsf, 1u);
  EXPECT_EQ(g.at(GroupKey{QoeDim::kCdn, "cdn-a"}).vsf, 0u);
  EXPECT_EQ(g.at(GroupKey{QoeDim::kCountry, "DE"}).attempts, 2u);
  EXPECT_EQ(g.at(GroupKey{QoeDim::kCdnCountry, "cdn-b|DE"}).vsf, 1u);
  EXPECT_EQ(g.at(GroupKey{QoeDim::kIsp, "unknown"}).attempts, 2u);
}

TEST(StartupHistogramTest, QuantilesAreWithinHalfABucket) {
  StartupHistogram h;
  for (int v = 1; v <= 100; ++v) h.Add(v * 100);  // 100 ms .. 10 s
  EXPECT_NEAR(h.Quantile(0.5), 5000, 25);
  EXPECT_NEAR(h.Quantile(0.95), 9500, 25);
  StartupHistogram other;
  other.Add(50000);
  h.Merge(other);
  EXPECT_EQ(h.count(), 101u);
  EXPECT_NEAR(h.Quantile(1.0), 50000, 125);
}

}  // namespace
}  // namespace viewpipe::sre
