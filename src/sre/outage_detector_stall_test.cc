// The rebuffering ratio's stalled-time rule in a small group: the steady
// hour's false alerts (bench/README.md, SRE) were all one viewer's long
// stall (8-17 s) with a few short ones of others in a small cdn x country
// cell or ISP, where the baseline is ~0 and the threshold the 2 % floor.
// Stalls are counted when they end, their time spread back over their
// span, so a 17 s stall appears at once as 17 elevated 1 s slices.
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "sre/outage_detector.h"
#include "sre/detector_test_fixture.h"

namespace viewpipe::sre {
namespace {

using testing::kTick;

class StallTest : public testing::SliceDetectorTest {
 protected:
  // A second of the small group cdn-s: 25 viewers playing, an attempt, a
  // 300 ms stall every 15 s; and of the big cdn-b: 300 viewers.
  QoeCounts Small() const {
    QoeCounts c;
    c.attempts = 1;
    c.ended_plays = 1;
    c.playing_ms = 25 * kTick;
    if ((now_ / kTick) % 15 == 0) Stall(&c, 300);
    return c;
  }
  static QoeCounts Big() {
    QoeCounts c;
    c.attempts = 10;
    c.ended_plays = 10;
    c.playing_ms = 300 * kTick;
    Stall(&c, 300);
    return c;
  }
  // A stall of ms that starts and ends in this slice.
  static void Stall(QoeCounts* c, int64_t ms) {
    ++c->stall_starts;
    ++c->rebuffers;
    c->stalled_ms += ms;
    c->longest_stall_ms = std::max(c->longest_stall_ms, ms);
    c->playing_ms -= ms;
  }
  // Adds to the slice starting at `at` (the current one or an older one:
  // a stall's time lands in the past when it ends).
  void Add(int64_t at, const QoeCounts& c) {
    for (const GroupKey& k : {GroupKey{QoeDim::kTotal, ""}, GroupKey{QoeDim::kCdn, "cdn-s"}}) {
      slices_[at][k].Merge(c);
    }
  }
  void Tick(const QoeCounts& small) {
    Add(now_, small);
    for (const GroupKey& k : {GroupKey{QoeDim::kTotal, ""}, GroupKey{QoeDim::kCdn, "cdn-b"}}) {
      slices_[now_][k].Merge(Big());
    }
    EndSlice();
  }
  void Steady(int n) {
    for (int i = 0; i < n; ++i) Tick(Small());
  }
  // A stall of one viewer from `from` to the end of the current slice
  // (its rebuffer_end): its time spread back over the slices it covered.
  void EndStall(int64_t from, int64_t ms) {
    QoeCounts end;
    end.rebuffers = 1;
    end.longest_stall_ms = ms;
    Add((from + ms) - (from + ms) % kTick, end);
    for (int64_t t = from; t < from + ms; t += kTick) {
      QoeCounts part;
      part.stalled_ms = std::min(kTick, from + ms - t);
      part.playing_ms = -part.stalled_ms;  // that viewer was not playing
      Add(t - t % kTick, part);
    }
  }
  std::vector<Alert> Alerts(const std::string& cdn) const {
    return AlertsOf("", cdn, "rebuffer_ratio");
  }
};

TEST_F(StallTest, OneViewersLongStallInASmallGroupDoesNotAlert) {
  // The steady hour's cdn-d|AU (bench run of 18:03): one viewer stalls for
  // 17.5 s, two others for 1.2 s and 0.4 s meanwhile. The span is 3.7 %
  // stalled, over the 2 % floor, with 3 stalls; without the long one,
  // 0.3 %.
  Steady(200);
  const int64_t start = now_;
  QoeCounts first = Small();
  ++first.stall_starts;  // the long stall begins
  Tick(first);
  for (int i = 1; i < 18; ++i) {
    QoeCounts c = Small();
    if (i == 11) Stall(&c, 1200);
    if (i == 13) Stall(&c, 400);
    if (i == 17) EndStall(start, 17456);
    Tick(c);
  }
  Steady(40);
  EXPECT_TRUE(Alerts("cdn-s").empty()) << Alerts("cdn-s")[0].id;
  EXPECT_TRUE(book_.List(false, 0).empty()) << book_.List(false, 0)[0].id;
}

TEST_F(StallTest, ThreeViewersLongStallsInASmallGroupDoNotAlert) {
  // The steady hour's isp=lg-uplus (bench run of 17:52): three viewers
  // begin to stall within 0.2 s, for 5.7, 6.6 and 10.7 s (and one 2 s
  // before, one 1.7 s after). Without only the longest the run is still
  // 3.7 % stalled; the excess must rest on more than min_rebuffers - 1
  // stalls, and without the two longest it is 1.7 %.
  Steady(200);
  QoeCounts before = Small();
  Stall(&before, 1980);
  Tick(before);
  Tick(Small());
  const int64_t start = now_;
  QoeCounts first = Small();
  first.stall_starts += 3;
  Tick(first);
  for (int i = 1; i < 13; ++i) {
    QoeCounts c = Small();
    if (i == 5) EndStall(start, 5735);
    if (i == 6) EndStall(start, 6570);
    if (i == 9) ++c.stall_starts;
    if (i == 10) EndStall(start, 10674);
    if (i == 11) EndStall(start + 9 * kTick, 1711);
    Tick(c);
  }
  Steady(40);
  EXPECT_TRUE(Alerts("cdn-s").empty()) << Alerts("cdn-s")[0].id;
}

TEST_F(StallTest, ManyViewersStallingInASmallGroupStillAlerts) {
  // The same small group, but six viewers stall for 3-5 s within 5 s: a
  // local outage. Without the longest stall the run is still far over.
  Steady(200);
  const int64_t start = now_;
  for (int i = 0; i < 12; ++i) {
    QoeCounts c = Small();
    if (i < 6) ++c.stall_starts;  // viewer i stalls from second i
    Tick(c);
    for (int k = 0; k < 6; ++k) {  // and for 3-5 s: ended in the slice just ticked
      const int64_t from = start + k * kTick, ms = 3000 + 400 * k;
      if ((from + ms) / kTick == now_ / kTick - 1) EndStall(from, ms);
    }
  }
  const auto alerts = Alerts("cdn-s");
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_LE(std::abs(alerts[0].started_at - start), 2 * kTick);
  EXPECT_TRUE(Alerts("cdn-b").empty());
}

}  // namespace
}  // namespace viewpipe::sre
