#include "api/pipeline_routes.h"

#include <gtest/gtest.h>

#include "common/clock.h"
#include "common/scoped_temp_dir.h"
#include "log/file_log.h"

namespace viewpipe {
namespace {

constexpr int64_t kT0 = 1700000000000;

class PipelineLagsTest : public ::testing::Test {
 protected:
  PipelineLagsTest() : clock_(kT0) {
    FileLogOptions o;
    o.dir = JoinPath(tmp_.path(), "log");
    o.clock = &clock_;
    o.topics = {{"viewing", 2}, {"qoe", 1}};
    o.min_free_bytes = 0;
    auto log = FileLog::Open(o);
    EXPECT_TRUE(log.ok()) << log.status().ToString();
    log_ = std::move(log).value();
  }

  // Appends n records to topic/p, the i-th stamped first_ts + i * 1000.
  void Append(std::string_view topic, PartitionId p, int n, int64_t first_ts) {
    std::vector<ProduceRecord> records(n);
    for (int i = 0; i < n; ++i) {
      records[i] = {topic, "k", "v", first_ts + i * 1000, p};
    }
    ASSERT_TRUE(log_->Append(records).ok());
  }

  void Commit(std::string_view group, std::string_view topic,
              const std::map<PartitionId, Offset>& next) {
    auto consumer = log_->Subscribe(group, topic);
    ASSERT_TRUE(consumer.ok());
    ASSERT_TRUE((*consumer)->Commit(next).ok());
  }

  ScopedTempDir tmp_;
  ManualClock clock_;
  std::unique_ptr<FileLog> log_;
};

TEST_F(PipelineLagsTest, SumsPartitionsAndAgesTheOldestUnprocessedRecord) {
  Append("viewing", 0, 5, kT0);          // ts kT0 .. kT0+4s
  Append("viewing", 1, 3, kT0 + 1000);   // ts kT0+1s .. kT0+3s
  Commit("ops", "viewing", {{0, 4}, {1, 1}});  // oldest left: p0@4 (kT0+4s), p1@1 (kT0+2s)
  Commit("lake", "viewing", {{0, 5}, {1, 3}});  // caught up
  auto lags = PipelineLags(*log_, kT0 + 10000);
  ASSERT_EQ(lags.size(), 2u);
  EXPECT_EQ(lags[0].group, "lake");
  EXPECT_EQ(lags[0].lag_events, 0);
  EXPECT_EQ(lags[0].lag_seconds, 0);
  EXPECT_EQ(lags[1].group, "ops");
  EXPECT_EQ(lags[1].topic, "viewing");
  EXPECT_EQ(lags[1].lag_events, 1 + 2);
  EXPECT_DOUBLE_EQ(lags[1].lag_seconds, 8.0);  // now - (kT0 + 2s)
}

TEST_F(PipelineLagsTest, GroupWithoutCommitsLagsFromTheStart) {
  Append("qoe", 0, 4, kT0);
  Commit("sre", "qoe", {});
  auto lags = PipelineLags(*log_, kT0 + 500);
  ASSERT_EQ(lags.size(), 1u);
  EXPECT_EQ(lags[0].group, "sre");
  EXPECT_EQ(lags[0].topic, "qoe");
  EXPECT_EQ(lags[0].lag_events, 4);
  EXPECT_DOUBLE_EQ(lags[0].lag_seconds, 0.5);
}

TEST_F(PipelineLagsTest, ClockBehindTheRecordsIsZeroNotNegative) {
  Append("qoe", 0, 1, kT0 + 5000);
  Commit("sre", "qoe", {});
  auto lags = PipelineLags(*log_, kT0);
  ASSERT_EQ(lags.size(), 1u);
  EXPECT_EQ(lags[0].lag_seconds, 0);
}

TEST_F(PipelineLagsTest, NoGroupsIsEmpty) {
  Append("viewing", 0, 2, kT0);
  EXPECT_TRUE(PipelineLags(*log_, kT0).empty());
  EXPECT_EQ(PipelineLagsJson({}, 7), R"({"as_of":7,"groups":[]})");
}

TEST(PipelineLagsJson, Shape) {
  std::vector<PipelineGroupLag> lags = {{"ops", "viewing", 12, 1.5}, {"sre", "qoe", 0, 0},
                                        {"lake", "viewing", 1, 0.123}};
  EXPECT_EQ(PipelineLagsJson(lags, 1000),
            R"({"as_of":1000,"groups":[{"group":"ops","topic":"viewing","lag_events":12,)"
            R"("lag_seconds":1.5},{"group":"sre","topic":"qoe","lag_events":0,"lag_seconds":0},)"
            R"({"group":"lake","topic":"viewing","lag_events":1,"lag_seconds":0.123}]})");
}

}  // namespace
}  // namespace viewpipe
