#pragma once
// DetectorTest-style fixture for the OutageDetector tests that build 1 s
// slices by hand: a detector on a manual clock at testing::kT0, the slices
// it reads, and the tick at the end of each slice as the SRE path runs it.

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <map>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "sre/alert_book.h"
#include "sre/outage_detector.h"
#include "sre/sre_test_util.h"

namespace viewpipe::sre::testing {

class SliceDetectorTest : public ::testing::Test {
 protected:
  explicit SliceDetectorTest(DetectorOptions options = {})
      : options_(options), clock_(kT0), book_(nullptr, ""), detector_(options_, &book_, &clock_) {}

  // Ends the slice [now_, now_ + 1 s): the tick at its end over every
  // slice kept, then the slices older than the detector's span are dropped.
  void EndSlice() {
    now_ += kTick;
    clock_.Advance(kTick);
    detector_.OnTick(now_, View());
    while (!slices_.empty() && slices_.begin()->first < now_ - options_.span_ms) {
      slices_.erase(slices_.begin());
    }
  }
  SliceView View() const {
    SliceView view;
    for (const auto& [s, counts] : slices_) view.emplace(s, &counts);
    return view;
  }
  // The alerts of the book (open and recent) that match; an empty filter matches all.
  std::vector<Alert> AlertsOf(std::string_view dimension, std::string_view key,
                              std::string_view metric) const {
    std::vector<Alert> out;
    for (const Alert& a : book_.List(false, 0)) {
      if ((dimension.empty() || a.dimension == dimension) && (key.empty() || a.key == key) &&
          (metric.empty() || a.metric == metric)) {
        out.push_back(a);
      }
    }
    return out;
  }

  // The group's first alert resolved and its next outage, from `start`,
  // raised one of its own within seconds: two alerts, the newer one open.
  static void ExpectNextOutageAlertedOnItsOwn(const std::vector<Alert>& alerts, int64_t start) {
    ASSERT_EQ(alerts.size(), 2u);
    const Alert& next = alerts[0].started_at > alerts[1].started_at ? alerts[0] : alerts[1];
    EXPECT_TRUE(next.open);
    EXPECT_LE(std::abs(next.started_at - start), 2 * kTick);
    EXPECT_LE(next.detected_event_time - start, 5 * kTick);
  }

  DetectorOptions options_;
  ManualClock clock_;
  AlertBook book_;
  OutageDetector detector_;
  std::map<int64_t, GroupCounts> slices_;
  int64_t now_ = kT0;
};

}  // namespace viewpipe::sre::testing
