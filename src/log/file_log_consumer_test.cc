// Consumers, committed offsets, lags, and concurrent group commit.

#include "log/file_log_consumer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <future>
#include <set>
#include <thread>
#include <vector>

#include "common/metrics.h"
#include "log/file_log.h"
#include "log/log_test_util.h"

namespace viewpipe {
namespace {

using ConsumerTest = LogTest;
using Clock = std::chrono::steady_clock;

std::vector<std::string> Values(const std::vector<ConsumedRecord>& recs) {
  std::vector<std::string> out;
  for (const auto& r : recs) out.emplace_back(r.value);
  return out;
}

TEST_F(ConsumerTest, CommittedOffsetsSurviveRestart) {
  {
    auto log = Open();
    ASSERT_TRUE(AppendN(log.get(), 10, "a").ok());
    auto consumer = log->Subscribe("ops", "t");
    ASSERT_TRUE(consumer.ok());
    EXPECT_EQ((*consumer)->Assignment(), std::vector<PartitionId>{0});
    auto recs = (*consumer)->Poll(100, std::chrono::milliseconds(100));
    ASSERT_TRUE(recs.ok());
    ASSERT_EQ(recs->size(), 10u);
    EXPECT_EQ((*recs)[9].value, "a-9");
    EXPECT_EQ((*recs)[9].partition, 0);
    ASSERT_TRUE((*consumer)->Commit({{0, 7}}).ok());
    EXPECT_EQ((*consumer)->Commit({{0, 11}}).code(), Status::Code::kInvalidArgument);
    EXPECT_EQ((*consumer)->Commit({{3, 1}}).code(), Status::Code::kInvalidArgument);
  }
  auto log = Open();
  auto committed = log->Committed("ops", "t");
  ASSERT_TRUE(committed.ok());
  EXPECT_EQ(*committed, (std::map<PartitionId, Offset>{{0, 7}}));
  EXPECT_TRUE(log->Committed("sre", "t")->empty());
  auto consumer = log->Subscribe("ops", "t");
  ASSERT_TRUE(consumer.ok());
  auto recs = (*consumer)->Poll(100, std::chrono::milliseconds(100));
  ASSERT_TRUE(recs.ok());
  EXPECT_EQ(Values(*recs), (std::vector<std::string>{"a-7", "a-8", "a-9"}));
  auto lags = log->Lags();
  ASSERT_EQ(lags.size(), 1u);
  EXPECT_EQ(lags[0].group, "ops");
  EXPECT_EQ(lags[0].topic, "t");
  EXPECT_EQ(lags[0].committed, 7);
  EXPECT_EQ(lags[0].end, 10);
  EXPECT_FALSE(log->Subscribe("bad/group", "t").ok());
  EXPECT_TRUE(log->Subscribe("ops", "nope").status().IsNotFound());
}

TEST_F(ConsumerTest, PollWakesWithinMillisecondsOfAnAppend) {
  auto log = Open();
  auto consumer = log->Subscribe("ops", "t");
  ASSERT_TRUE(consumer.ok());
  // The median of the rounds, not each one: on a loaded machine a single
  // thread wake-up can take longer than 50 ms, a consumer that sleeps to its
  // timeout (or polls on an interval) is slow in every round.
  std::vector<int64_t> delays;
  for (int round = 0; round < 5; ++round) {
    auto poll = std::async(std::launch::async, [&] {
      auto recs = (*consumer)->Poll(10, std::chrono::seconds(10));
      return std::make_pair(recs.ok() ? recs->size() : 0, Clock::now());
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    ASSERT_TRUE(AppendN(log.get(), 1, "x").ok());
    auto appended = Clock::now();
    auto [n, woke] = poll.get();
    EXPECT_EQ(n, 1u);
    auto delay = std::chrono::duration_cast<std::chrono::milliseconds>(woke - appended);
    EXPECT_LT(delay.count(), 5000) << "the consumer must not wait for its timeout";
    delays.push_back(delay.count());
  }
  std::sort(delays.begin(), delays.end());
  EXPECT_LT(delays[delays.size() / 2], 50) << "median wake-up after an append, ms";
}

TEST_F(ConsumerTest, PollTimesOutEmpty) {
  auto log = Open();
  auto consumer = log->Subscribe("ops", "t");
  ASSERT_TRUE(consumer.ok());
  auto start = Clock::now();
  auto recs = (*consumer)->Poll(10, std::chrono::milliseconds(30));
  ASSERT_TRUE(recs.ok());
  EXPECT_TRUE(recs->empty());
  EXPECT_GE(Clock::now() - start, std::chrono::milliseconds(30));
}

TEST_F(ConsumerTest, MaxRecordsSeekAndRoundRobin) {
  options_.topics = {{"t", 2}};
  auto log = Open();
  ASSERT_TRUE(AppendN(log.get(), 100, "p0", "t", 0).ok());
  ASSERT_TRUE(AppendN(log.get(), 100, "p1", "t", 1).ok());
  auto consumer = log->Subscribe("g", "t");
  ASSERT_TRUE(consumer.ok());
  std::map<PartitionId, Offset> next;
  for (int i = 0; i < 20 && (next[0] < 100 || next[1] < 100); ++i) {
    auto recs = (*consumer)->Poll(30, std::chrono::milliseconds(100));
    ASSERT_TRUE(recs.ok());
    ASSERT_LE(recs->size(), 30u);
    for (const auto& r : *recs) ASSERT_EQ(r.offset, next[r.partition]++) << "in order";
  }
  EXPECT_EQ(next[0], 100);
  EXPECT_EQ(next[1], 100);
  ASSERT_TRUE((*consumer)->Seek(1, 98).ok());
  auto recs = (*consumer)->Poll(30, std::chrono::milliseconds(100));
  ASSERT_TRUE(recs.ok());
  EXPECT_EQ(Values(*recs), (std::vector<std::string>{"p1-98", "p1-99"}));
  EXPECT_FALSE((*consumer)->Seek(2, 0).ok());
  auto* fc = static_cast<FileLogConsumer*>(consumer->get());
  EXPECT_EQ(fc->Position(1), 100);
}

TEST_F(ConsumerTest, RetentionMovesLaggingConsumersAndCountsTheLoss) {
  MetricsRegistry metrics;
  options_.metrics = &metrics;
  options_.segment_bytes = 4096;
  options_.retention_ms = 1000;
  auto log = Open();
  auto consumer = log->Subscribe("slow", "t");
  ASSERT_TRUE(consumer.ok());
  for (int i = 0; i < 60; ++i) ASSERT_TRUE(AppendN(log.get(), 10, "r").ok());
  clock_.Advance(10000);
  ASSERT_TRUE(log->EnforceRetention().ok());
  Offset start = log->StartOffset("t", 0);
  ASSERT_GT(start, 0);
  auto recs = (*consumer)->Poll(5, std::chrono::milliseconds(100));
  ASSERT_TRUE(recs.ok());
  ASSERT_FALSE(recs->empty());
  EXPECT_EQ(recs->front().offset, start);
  std::string text = metrics.RenderPrometheus();
  std::string line = "viewpipe_log_retention_skipped_records_total{group=\"slow\",topic=\"t\"} " +
                     std::to_string(start) + "\n";
  EXPECT_NE(text.find(line), std::string::npos) << text;
}

TEST_F(ConsumerTest, CorruptPartitionIsReportedOnceAndOthersGoOn) {
  options_.topics = {{"t", 2}};
  options_.segment_bytes = 4096;
  {
    auto log = Open();
    for (int i = 0; i < 40; ++i) ASSERT_TRUE(AppendN(log.get(), 10, "p0", "t", 0).ok());
    ASSERT_TRUE(AppendN(log.get(), 10, "p1", "t", 1).ok());
  }
  std::string seg = ReadRaw(SegmentPath(0));
  seg[100] = static_cast<char>(seg[100] ^ 1);
  WriteRaw(SegmentPath(0), seg);
  auto log = Open();
  auto consumer = log->Subscribe("g", "t");
  ASSERT_TRUE(consumer.ok());
  bool saw_error = false;
  size_t p1 = 0;
  for (int i = 0; i < 10; ++i) {
    auto recs = (*consumer)->Poll(100, std::chrono::milliseconds(10));
    if (!recs.ok()) {
      EXPECT_FALSE(saw_error) << "reported once";
      EXPECT_TRUE(recs.status().IsCorruption());
      saw_error = true;
      continue;
    }
    for (const auto& r : *recs) p1 += r.partition == 1;
  }
  EXPECT_TRUE(saw_error);
  EXPECT_EQ(p1, 10u);
}

TEST_F(ConsumerTest, ConcurrentGroupCommitFromEightThreads) {
  MetricsRegistry metrics;
  options_.metrics = &metrics;
  options_.topics = {{"t", 2}};
  auto log = Open();
  // Slow fsyncs make the queue build up the way a real disk does.
  env_.SetBeforeSyncHook(
      [](const std::string&) { std::this_thread::sleep_for(std::chrono::milliseconds(2)); });
  constexpr int kThreads = 8, kAppends = 40, kRecords = 50;
  std::vector<std::map<std::string, std::pair<PartitionId, Offset>>> acked(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kAppends; ++i) {
        std::vector<std::string> values;
        for (int j = 0; j < kRecords; ++j) {
          values.push_back(std::to_string(t) + "/" + std::to_string(i) + "/" + std::to_string(j));
        }
        std::vector<ProduceRecord> recs;
        for (const auto& v : values) recs.push_back({"t", v, v, kT0, -1});
        std::vector<Offset> offsets;
        ASSERT_TRUE(log->Append(recs, &offsets).ok());
        for (int j = 0; j < kRecords; ++j) {
          acked[t][values[j]] = {log->PartitionForKey("t", values[j]), offsets[j]};
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  env_.SetBeforeSyncHook(nullptr);
  std::map<std::string, std::pair<PartitionId, Offset>> stored;
  for (PartitionId p = 0; p < 2; ++p) {
    auto recs = ReadAll(log.get(), "t", p);
    for (size_t i = 0; i < recs.size(); ++i) {
      ASSERT_EQ(recs[i].offset, static_cast<Offset>(i)) << "dense";
      ASSERT_TRUE(stored.emplace(recs[i].value, std::make_pair(p, recs[i].offset)).second)
          << "exactly once: " << recs[i].value;
    }
  }
  ASSERT_EQ(stored.size(), static_cast<size_t>(kThreads * kAppends * kRecords));
  for (const auto& per_thread : acked) {
    for (const auto& [v, where] : per_thread) ASSERT_EQ(stored.at(v), where) << v;
  }
  uint64_t groups = metrics.GetCounter("viewpipe_log_group_commits_total", "")->Value();
  uint64_t appends = kThreads * kAppends;
  EXPECT_LT(groups, appends / 3) << "group commit shares fsyncs";
  EXPECT_LT(env_.SyncCount(), appends) << "fewer fsyncs than appends";
}

}  // namespace
}  // namespace viewpipe
