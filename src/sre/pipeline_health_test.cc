// Pipeline-health alerts over a real FileLog, and the AlertBook's file.
#include "sre/pipeline_health.h"

#include <gtest/gtest.h>

#include "common/scoped_temp_dir.h"
#include "log/file_log.h"

namespace viewpipe::sre {
namespace {

constexpr int64_t kNow = 1764400000000;

class PipelineHealthTest : public ::testing::Test {
 protected:
  PipelineHealthTest() : clock_(kNow), book_(nullptr, "") {
    FileLogOptions o;
    o.dir = dir_.path();
    o.topics = {{"qoe", 1}};
    o.min_free_bytes = 0;
    log_ = std::move(FileLog::Open(o).value());
    options_.max_lag_records = 5;
    options_.min_rejections = 10;
  }
  void Append(int n) {
    for (int i = 0; i < n; ++i) {
      ProduceRecord r{"qoe", "k", "v", kNow};
      ASSERT_TRUE(log_->Append({&r, 1}).ok());
    }
  }
  std::vector<Alert> Kind(const std::string& kind) {
    std::vector<Alert> out;
    for (const Alert& a : book_.List(false, 0)) {
      if (a.kind == kind) out.push_back(a);
    }
    return out;
  }

  ScopedTempDir dir_;
  ManualClock clock_;
  AlertBook book_;
  MetricsRegistry metrics_;
  HealthOptions options_;
  std::unique_ptr<Log> log_;
};

TEST_F(PipelineHealthTest, ConsumerLagAlertsAndResolves) {
  auto consumer = log_->Subscribe("slow", "qoe");
  ASSERT_TRUE(consumer.ok());
  ASSERT_TRUE((*consumer)->Commit({{0, 0}}).ok());
  PipelineHealth health(options_, log_.get(), &metrics_, &book_, &clock_);
  Append(3);
  health.Check();
  EXPECT_TRUE(Kind("consumer_lag").empty());
  Append(7);
  clock_.Advance(1000);
  health.Check();
  auto lag = Kind("consumer_lag");
  ASSERT_EQ(lag.size(), 1u);
  EXPECT_EQ(lag[0].key, "slow/qoe");
  EXPECT_EQ(lag[0].value, 10);
  EXPECT_TRUE(lag[0].open);
  EXPECT_EQ(lag[0].detected_at, kNow + 1000);
  ASSERT_TRUE((*consumer)->Commit({{0, 10}}).ok());
  clock_.Advance(1000);
  health.Check();
  lag = Kind("consumer_lag");
  ASSERT_EQ(lag.size(), 1u);
  EXPECT_FALSE(lag[0].open);
  EXPECT_EQ(lag[0].resolved_at.value_or(0), kNow + 2000);
}

TEST_F(PipelineHealthTest, RejectionSpikeAlertsAndResolves) {
  const std::string help = "Events posted to the collector, by outcome";
  Counter* accepted = metrics_.GetCounter("viewpipe_events_total", help, {{"outcome", "accepted"}});
  Counter* rejected = metrics_.GetCounter("viewpipe_events_total", help, {{"outcome", "rejected"}});
  PipelineHealth health(options_, log_.get(), &metrics_, &book_, &clock_);
  health.Check();
  accepted->Inc(1000);
  rejected->Inc(20);  // 2 %: normal bad input
  clock_.Advance(1000);
  health.Check();
  EXPECT_TRUE(Kind("rejections").empty());
  accepted->Inc(100);
  rejected->Inc(200);
  clock_.Advance(1000);
  health.Check();
  ASSERT_EQ(Kind("rejections").size(), 1u);
  EXPECT_TRUE(Kind("rejections")[0].open);
  accepted->Inc(100000);  // a minute later, the spike is out of the window
  clock_.Advance(61000);
  health.Check();
  clock_.Advance(1000);
  health.Check();
  ASSERT_EQ(Kind("rejections").size(), 1u);
  EXPECT_FALSE(Kind("rejections")[0].open);
}

TEST(AlertBookTest, SurvivesARestartAndKeepsDetectedAtOnReplay) {
  ScopedTempDir dir;
  const std::string path = dir.path() + "/sre/alerts";
  Alert a;
  a.kind = "qoe";
  a.dimension = "cdn";
  a.key = "cdn-b";
  a.metric = "vsf_rate";
  a.severity = "critical";
  a.value = 0.5;
  a.baseline = 0.01;
  a.started_at = kNow;
  a.detected_at = kNow + 15000;
  a.id = Alert::MakeId(a.kind, a.dimension, a.key, a.metric, a.started_at);
  {
    AlertBook book(Env::Default(), path);
    ASSERT_TRUE(book.Load().ok());
    ASSERT_TRUE(book.Raise(a));
    ASSERT_TRUE(book.last_write_error().ok()) << book.last_write_error().ToString();
  }
  AlertBook book(Env::Default(), path);
  ASSERT_TRUE(book.Load().ok());
  auto got = book.Get(a.id);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->detected_at, kNow + 15000);
  EXPECT_EQ(got->value, 0.5);
  EXPECT_TRUE(got->open);
  Alert replayed = a;
  replayed.detected_at = kNow + 999999;  // the replay would detect it later
  EXPECT_FALSE(book.Raise(replayed));
  EXPECT_EQ(book.Get(a.id)->detected_at, kNow + 15000);
  book.Resolve(a.id, kNow + 60000);
  AlertBook again(Env::Default(), path);
  ASSERT_TRUE(again.Load().ok());
  EXPECT_FALSE(again.Get(a.id)->open);
  EXPECT_EQ(again.Get(a.id)->resolved_at.value_or(0), kNow + 60000);
}

TEST(AlertBookTest, DamagedFileIsCorruption) {
  ScopedTempDir dir;
  const std::string path = dir.path() + "/alerts";
  {
    AlertBook book(Env::Default(), path);
    Alert a;
    a.id = "x";
    ASSERT_TRUE(book.Raise(a));
  }
  auto size = Env::Default()->FileSize(path);
  ASSERT_TRUE(size.ok());
  ASSERT_EQ(::truncate(path.c_str(), static_cast<off_t>(*size - 3)), 0);
  AlertBook book(Env::Default(), path);
  EXPECT_TRUE(book.Load().IsCorruption());
}

}  // namespace
}  // namespace viewpipe::sre
