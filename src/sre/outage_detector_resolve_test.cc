// Resolution of the rebuffering ratio as the live data arrive: a session's
// playing time is counted at its next event (a heartbeat every 10 s), a
// stall's time when it ends, so the newest slices hold a tenth of the
// playing time at first and their ratio reads several times the true one.
// Live, a CDN's rebuffering alert then stayed open for minutes and covered
// the CDN's next outage (bench/README.md, SRE, session 6).
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>
#include <vector>

#include "sre/outage_detector.h"
#include "sre/detector_test_fixture.h"

namespace viewpipe::sre {
namespace {

using testing::kTick;

class ResolveTest : public testing::SliceDetectorTest {
 protected:
  // One second of cdn-r: 1,000 viewers playing, a tenth of them sending
  // their heartbeat in it (each crediting its last 10 s of playing, one
  // second to each of the last ten slices), and `stalls` stalls of
  // stall_ms that start and end in it.
  void Tick(int stalls, int64_t stall_ms) {
    QoeCounts now;
    now.stall_starts = static_cast<uint64_t>(stalls);
    now.rebuffers = static_cast<uint64_t>(stalls);
    now.stalled_ms = stalls * stall_ms;
    now.longest_stall_ms = stalls > 0 ? stall_ms : 0;
    now.attempts = 5;
    now.ended_plays = 5;
    Add(now_, now);
    for (int k = 0; k < 10; ++k) {
      QoeCounts playing;
      playing.playing_ms = 100 * kTick;
      Add(now_ - k * kTick, playing);
    }
    EndSlice();
  }
  void Add(int64_t at, const QoeCounts& c) {
    for (const GroupKey& k : {GroupKey{QoeDim::kTotal, ""}, GroupKey{QoeDim::kCdn, "cdn-r"}}) {
      slices_[at][k].Merge(c);
    }
  }
  // Normal: three 500 ms stalls a second (a ratio of ~0.2 %, but ~1.5 % in
  // the newest slice, which holds a tenth of its playing time).
  void Normal(int seconds) {
    for (int i = 0; i < seconds; ++i) Tick(3, 500);
  }
  // An outage: 30 stalls of 1 s a second.
  void Outage(int seconds) {
    for (int i = 0; i < seconds; ++i) Tick(30, 1000);
  }
  std::vector<Alert> Alerts() const { return AlertsOf("cdn", "", "rebuffer_ratio"); }
};

TEST_F(ResolveTest, RebufferAlertResolvesThoughTheNewestSlicesLackPlayingTime) {
  Normal(200);
  EXPECT_TRUE(Alerts().empty());
  const int64_t first = now_;
  Outage(20);
  const int64_t back = now_;
  Normal(60);
  auto alerts = Alerts();
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_LE(std::abs(alerts[0].started_at - first), 2 * kTick);
  // Resolved, at the start of the normal data it judged (settled ones).
  ASSERT_FALSE(alerts[0].open);
  ASSERT_TRUE(alerts[0].resolved_at.has_value());
  EXPECT_GE(*alerts[0].resolved_at, back);
  EXPECT_LE(*alerts[0].resolved_at, back + 10 * kTick);
  // So the CDN's next outage raises its own alert, within seconds.
  Normal(40);
  const int64_t second = now_;
  Outage(20);
  ExpectNextOutageAlertedOnItsOwn(Alerts(), second);
}

TEST_F(ResolveTest, RebufferAlertStaysOpenWhileTheOutageGoesOn) {
  Normal(200);
  Outage(90);
  const auto alerts = Alerts();
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_TRUE(alerts[0].open);
}

// A thin CDN's start failures: 4 attempts a second and one normal video
// start failure every 15 s (1.7 %); the newest data for resolution are its
// newest second. The old rule (newest over baseline + floor / 2) read 25 %
// at each normal failure, so the alert never had 30 normal ticks in a row
// and stayed open over the CDN's next outage (bench/README.md, SRE,
// session 7: cdn-a at 15,000 viewers, found 11 s late by a cell instead).
class VsfResolveTest : public testing::SliceDetectorTest {
 protected:
  void Tick(int failures) {
    QoeCounts c;
    c.attempts = 4;
    c.vsf = static_cast<uint64_t>(failures);
    slices_[now_][GroupKey{QoeDim::kCdn, "cdn-v"}].Merge(c);
    EndSlice();
  }
  void Normal(int seconds) {
    for (int i = 0; i < seconds; ++i) Tick(++ticks_ % 15 == 0 ? 1 : 0);
  }
  void Outage(int seconds) {
    for (int i = 0; i < seconds; ++i) Tick(2);
  }
  std::vector<Alert> Alerts() const { return AlertsOf("cdn", "", "vsf_rate"); }

  int ticks_ = 0;
};

TEST_F(VsfResolveTest, ThinCdnAlertResolvesThoughANormalFailureIsInItsNewestSecond) {
  Normal(300);
  EXPECT_TRUE(Alerts().empty());
  Outage(20);
  const int64_t back = now_;
  Normal(90);
  auto alerts = Alerts();
  ASSERT_EQ(alerts.size(), 1u);
  ASSERT_FALSE(alerts[0].open);
  ASSERT_TRUE(alerts[0].resolved_at.has_value());
  EXPECT_GE(*alerts[0].resolved_at, back);
  EXPECT_LE(*alerts[0].resolved_at, back + 30 * kTick);
  // So the CDN's next outage raises its own alert, within seconds.
  const int64_t second = now_;
  Outage(20);
  ExpectNextOutageAlertedOnItsOwn(Alerts(), second);
}

TEST_F(VsfResolveTest, ThinCdnAlertStaysOpenWhileTheOutageGoesOn) {
  Normal(300);
  Outage(120);
  const auto alerts = Alerts();
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_TRUE(alerts[0].open);
}

// The CI's tests/e2e/test_scale_sre_group.py (session 7): cdn-b carries
// under one attempt a second (4,000 viewers), a start-failure outage of
// 10 minutes fails half of them, and a failure is counted 1-3 s after its
// attempt (the player's fatal error). With only the newest data judged
// (resolve_p_value 1e-2), one or two attempts, never significant, 30 such
// ticks came in the outage: the alert resolved and a second one was raised
// (here in 11 of these 40 seeds; 16 failed). Random draws, fixed seeds:
// deterministic.
class ThinVsfTest : public testing::SliceDetectorTest,
                    public ::testing::WithParamInterface<uint32_t> {
 protected:
  // Uniform in [0, 1) from the generator's raw bits (the same on every
  // standard library, unlike std::*_distribution).
  double Uniform() { return static_cast<double>(rng_() >> 8) / 16777216.0; }
  // One second: attempts at kThinPerS a second (0-3 of them), each failing
  // with probability `fail`, its failure counted 1-3 s later.
  void Second(double fail) {
    const GroupKey cdn{QoeDim::kCdn, "cdn-t"};
    for (int i = 0; i < 3; ++i) {
      if (Uniform() >= kThinPerS / 3) continue;
      slices_[now_][cdn].attempts += 1;
      if (Uniform() < fail) {
        slices_[now_ + kTick * (1 + static_cast<int64_t>(Uniform() * 3))][cdn].vsf += 1;
      }
    }
    EndSlice();
  }
  void Run(int seconds, double fail) {
    for (int i = 0; i < seconds; ++i) Second(fail);
  }
  std::vector<Alert> Alerts() const { return AlertsOf("cdn", "cdn-t", "vsf_rate"); }

  static constexpr double kThinPerS = 0.7;
  static constexpr double kThinNormal = 0.008;  // the simulator's normal start failures
  std::mt19937 rng_;
};

TEST_P(ThinVsfTest, ThinCdnAlertStaysOpenThroughALongHalfFailingOutage) {
  rng_.seed(GetParam());
  Run(300, kThinNormal);
  ASSERT_TRUE(Alerts().empty());
  Run(600, 0.5);
  auto alerts = Alerts();
  ASSERT_EQ(alerts.size(), 1u);  // raised once, never resolved and raised again
  EXPECT_TRUE(alerts[0].open);
  // Back to normal: resolved within a minute, decided 30 s of ticks after
  // the data it judged normal began (which may hold the outage's last few
  // seconds: a thin CDN's last attempts cannot tell).
  const int64_t back = now_;
  Run(90, kThinNormal);
  alerts = Alerts();
  ASSERT_EQ(alerts.size(), 1u);
  ASSERT_TRUE(alerts[0].resolved_at.has_value());
  EXPECT_GE(*alerts[0].resolved_at, back - 10 * kTick);
  EXPECT_LE(*alerts[0].resolved_at, back + 60 * kTick);
}

INSTANTIATE_TEST_SUITE_P(Seeds, ThinVsfTest, ::testing::Range(1u, 41u));

}  // namespace
}  // namespace viewpipe::sre
