// The Log contract (log.h), run against every implementation: FileLog on a
// temp dir and KafkaLog on a real Apache Kafka broker (kafka_test_broker.h).
// Each case uses fresh topic and group names, so cases share one broker.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <set>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/scoped_temp_dir.h"
#include "log/file_log.h"
#include "log/kafka_log.h"
#include "log/kafka_test_broker.h"

namespace viewpipe {
namespace {

using namespace std::chrono_literals;

// Record timestamps a minute ago. Not a fixed date: a broker deletes records
// older than its time retention (scripts/kafka.sh: log.retention.hours=1)
// whenever its retention check runs, and with a 2023 date the check could
// delete a case's records between its appends and its reads (the reader
// then started at the new low watermark: "read 160 of 400", issue 9).
const int64_t kT0 = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::system_clock::now().time_since_epoch())
                        .count() -
                    60'000;

struct Owned {
  PartitionId partition;
  Offset offset;
  int64_t ts;
  std::string key, value;
};

class LogConformanceTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    static std::atomic<int> counter{0};
    suffix_ = "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + "-" +
              std::to_string(std::chrono::system_clock::now().time_since_epoch().count() % 1000000);
    if (kafka() && KafkaTestBroker::Brokers().empty()) {
      GTEST_SKIP() << "\n\n*** KAFKA CONFORMANCE CASES SKIPPED: " << KafkaTestBroker::Reason()
                   << " ***\n";
    }
    topics_ = {{Topic("a"), 3}, {Topic("b"), 1}};
    log_ = Open();
    ASSERT_NE(log_, nullptr);
  }

  bool kafka() const { return GetParam() == "kafka"; }
  std::string Topic(const std::string& base) const { return base + suffix_; }
  std::string Group(const std::string& base) const { return "g" + base + suffix_; }

  std::unique_ptr<Log> Open() {
    if (kafka()) {
      KafkaLogOptions o;
      o.brokers = KafkaTestBroker::Brokers();
      o.topics = topics_;
      auto log = KafkaLog::Open(o);
      EXPECT_TRUE(log.ok()) << log.status().ToString();
      return log.ok() ? std::move(log).value() : nullptr;
    }
    FileLogOptions o;
    o.dir = tmp_.path() + "/log";
    o.topics = topics_;
    o.min_free_bytes = 0;
    auto log = FileLog::Open(o);
    EXPECT_TRUE(log.ok()) << log.status().ToString();
    return log.ok() ? std::move(log).value() : nullptr;
  }

  // Appends n records "<prefix>-<i>" keyed "k<i>" to one partition.
  Status AppendTo(const std::string& topic, PartitionId p, int n, const std::string& prefix,
                  std::vector<Offset>* offsets = nullptr) {
    std::vector<std::string> keys, values;
    for (int i = 0; i < n; ++i) {
      keys.push_back("k" + std::to_string(i));
      values.push_back(prefix + "-" + std::to_string(i));
    }
    std::vector<ProduceRecord> records;
    for (int i = 0; i < n; ++i) records.push_back({topic, keys[i], values[i], kT0 + i, p});
    return log_->Append(records, offsets);
  }

  std::vector<Owned> ReadPartition(const std::string& topic, PartitionId p, Offset from = 0) {
    std::vector<Owned> out;
    auto reader = log_->NewReader(topic, p, from);
    EXPECT_TRUE(reader.ok()) << reader.status().ToString();
    if (!reader.ok()) return out;
    for (;;) {
      std::vector<ConsumedRecord> batch;
      auto n = (*reader)->Read(100, &batch);
      EXPECT_TRUE(n.ok()) << n.status().ToString();
      if (!n.ok() || *n == 0) break;
      for (const auto& r : batch) {
        out.push_back({r.partition, r.offset, r.timestamp_ms, std::string(r.key),
                       std::string(r.value)});
      }
    }
    return out;
  }

  // Polls until `want` records came or 30 s passed.
  static std::vector<Owned> PollN(Consumer* c, size_t want) {
    std::vector<Owned> out;
    auto deadline = std::chrono::steady_clock::now() + 30s;
    while (out.size() < want && std::chrono::steady_clock::now() < deadline) {
      auto batch = c->Poll(want - out.size(), 200ms);
      EXPECT_TRUE(batch.ok()) << batch.status().ToString();
      if (!batch.ok()) break;
      for (const auto& r : *batch) {
        out.push_back({r.partition, r.offset, r.timestamp_ms, std::string(r.key),
                       std::string(r.value)});
      }
    }
    return out;
  }

  std::unique_ptr<Consumer> Subscribe(const std::string& group, const std::string& topic) {
    auto c = log_->Subscribe(group, topic);
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return c.ok() ? std::move(c).value() : nullptr;
  }

  ScopedTempDir tmp_;
  std::string suffix_;
  std::map<std::string, int> topics_;
  std::unique_ptr<Log> log_;
};

TEST_P(LogConformanceTest, OffsetsAreDensePerPartitionFromZero) {
  const std::string a = Topic("a");
  std::vector<Offset> offsets;
  ASSERT_TRUE(AppendTo(a, 1, 5, "x", &offsets).ok());
  EXPECT_EQ(offsets, (std::vector<Offset>{0, 1, 2, 3, 4}));
  ASSERT_TRUE(AppendTo(a, 1, 3, "y", &offsets).ok());
  EXPECT_EQ(offsets, (std::vector<Offset>{5, 6, 7}));
  EXPECT_EQ(log_->StartOffset(a, 1), 0);
  EXPECT_EQ(log_->EndOffset(a, 1), 8);
  EXPECT_EQ(log_->EndOffset(a, 0), 0);
  EXPECT_EQ(log_->EndOffset(a, 2), 0);
  EXPECT_EQ(log_->Partitions(a), 3);
  EXPECT_EQ(log_->Partitions(Topic("b")), 1);
}

TEST_P(LogConformanceTest, ReaderReturnsKeysValuesTimestampsInOrder) {
  const std::string a = Topic("a");
  ASSERT_TRUE(AppendTo(a, 2, 250, "v").ok());
  auto all = ReadPartition(a, 2);
  ASSERT_EQ(all.size(), 250u);
  for (int i = 0; i < 250; ++i) {
    EXPECT_EQ(all[i].offset, i);
    EXPECT_EQ(all[i].partition, 2);
    EXPECT_EQ(all[i].key, "k" + std::to_string(i));
    EXPECT_EQ(all[i].value, "v-" + std::to_string(i));
    EXPECT_EQ(all[i].ts, kT0 + i);
  }
  auto tail = ReadPartition(a, 2, 240);
  ASSERT_EQ(tail.size(), 10u);
  EXPECT_EQ(tail.front().offset, 240);
  EXPECT_TRUE(ReadPartition(a, 2, 10000).empty());  // clamped to the end
  EXPECT_EQ(ReadPartition(a, 2, -5).size(), 250u);  // clamped to the start
}

TEST_P(LogConformanceTest, KeyedRecordsLandWhereHashPartitionSays) {
  const std::string a = Topic("a");
  std::vector<std::string> keys, values;
  for (int i = 0; i < 60; ++i) {
    keys.push_back("session-" + std::to_string(i * 7919));
    values.push_back("e" + std::to_string(i));
  }
  std::vector<ProduceRecord> records;
  for (int i = 0; i < 60; ++i) records.push_back({a, keys[i], values[i], kT0});
  ASSERT_TRUE(log_->Append(records).ok());
  std::map<std::string, PartitionId> where;
  int total = 0;
  for (PartitionId p = 0; p < 3; ++p) {
    for (const auto& r : ReadPartition(a, p)) where[r.key] = p, ++total;
  }
  EXPECT_EQ(total, 60);
  std::set<PartitionId> used;
  for (const auto& k : keys) {
    EXPECT_EQ(where[k], HashPartition(k, 3)) << k;
    EXPECT_EQ(log_->PartitionForKey(a, k), HashPartition(k, 3));
    used.insert(where[k]);
  }
  EXPECT_EQ(used.size(), 3u);  // the keys spread over every partition
}

TEST_P(LogConformanceTest, BadTopicOrPartitionIsInvalidArgumentAndWritesNothing) {
  const std::string b = Topic("b");
  std::vector<ProduceRecord> records = {{b, "k", "ok", kT0, 0}, {"no-such-topic", "k", "x", kT0}};
  Status st = log_->Append(records);
  EXPECT_EQ(st.code(), Status::Code::kInvalidArgument) << st.ToString();
  records = {{b, "k", "ok", kT0, 0}, {b, "k", "x", kT0, 1}};
  st = log_->Append(records);
  EXPECT_EQ(st.code(), Status::Code::kInvalidArgument) << st.ToString();
  EXPECT_EQ(log_->EndOffset(b, 0), 0);
}

TEST_P(LogConformanceTest, SoleGroupMemberReadsEveryPartition) {
  const std::string a = Topic("a");
  for (PartitionId p = 0; p < 3; ++p) ASSERT_TRUE(AppendTo(a, p, 10 + p, "p" + std::to_string(p)).ok());
  auto c = Subscribe(Group("all"), a);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->Assignment(), (std::vector<PartitionId>{0, 1, 2}));
  auto got = PollN(c.get(), 33);
  ASSERT_EQ(got.size(), 33u);
  std::map<PartitionId, Offset> next;
  for (const auto& r : got) {
    EXPECT_EQ(r.offset, next[r.partition]) << "out of order in partition " << r.partition;
    next[r.partition] = r.offset + 1;
  }
  EXPECT_EQ(next, (std::map<PartitionId, Offset>{{0, 10}, {1, 11}, {2, 12}}));
}

TEST_P(LogConformanceTest, CommitIsWhereTheGroupResumes) {
  const std::string a = Topic("a");
  for (PartitionId p = 0; p < 3; ++p) ASSERT_TRUE(AppendTo(a, p, 6, "r").ok());
  const std::string g = Group("resume");
  auto fresh = log_->Committed(g, a);
  ASSERT_TRUE(fresh.ok()) << fresh.status().ToString();
  EXPECT_TRUE(fresh->empty());
  {
    auto c = Subscribe(g, a);
    ASSERT_NE(c, nullptr);
    ASSERT_EQ(PollN(c.get(), 18).size(), 18u);
    ASSERT_TRUE(c->Commit({{0, 4}, {2, 6}}).ok());  // partition 1: nothing committed
  }
  auto committed = log_->Committed(g, a);
  ASSERT_TRUE(committed.ok());
  EXPECT_EQ(*committed, (std::map<PartitionId, Offset>{{0, 4}, {2, 6}}));
  auto c = Subscribe(g, a);
  ASSERT_NE(c, nullptr);
  auto again = PollN(c.get(), 8);  // 2 of partition 0, all 6 of partition 1
  ASSERT_EQ(again.size(), 8u);
  std::map<PartitionId, std::vector<Offset>> seen;
  for (const auto& r : again) seen[r.partition].push_back(r.offset);
  EXPECT_EQ(seen[0], (std::vector<Offset>{4, 5}));
  EXPECT_EQ(seen[1], (std::vector<Offset>{0, 1, 2, 3, 4, 5}));
  EXPECT_EQ(seen.count(2), 0u);
  auto more = c->Poll(10, 300ms);
  ASSERT_TRUE(more.ok());
  EXPECT_TRUE(more->empty());
}

TEST_P(LogConformanceTest, GroupsAreIndependent) {
  const std::string b = Topic("b");
  ASSERT_TRUE(AppendTo(b, 0, 5, "i").ok());
  auto c1 = Subscribe(Group("one"), b);
  ASSERT_NE(c1, nullptr);
  ASSERT_EQ(PollN(c1.get(), 5).size(), 5u);
  ASSERT_TRUE(c1->Commit({{0, 5}}).ok());
  auto c2 = Subscribe(Group("two"), b);
  ASSERT_NE(c2, nullptr);
  auto got = PollN(c2.get(), 5);
  ASSERT_EQ(got.size(), 5u);
  EXPECT_EQ(got.front().offset, 0);
  auto two = log_->Committed(Group("two"), b);
  ASSERT_TRUE(two.ok());
  EXPECT_TRUE(two->empty());
}

TEST_P(LogConformanceTest, SeekMovesThePositionNotTheCommit) {
  const std::string a = Topic("a");
  ASSERT_TRUE(AppendTo(a, 0, 10, "s").ok());
  const std::string g = Group("seek");
  auto c = Subscribe(g, a);
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(c->Seek(0, 7).ok());
  auto got = PollN(c.get(), 3);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].offset, 7);
  EXPECT_EQ(got[0].value, "s-7");
  ASSERT_TRUE(c->Seek(0, 2).ok());  // backwards, after reading
  got = PollN(c.get(), 8);
  ASSERT_EQ(got.size(), 8u);
  EXPECT_EQ(got[0].offset, 2);
  EXPECT_EQ(got[7].offset, 9);
  EXPECT_EQ(c->Seek(99, 0).code(), Status::Code::kInvalidArgument);
  auto committed = log_->Committed(g, a);
  ASSERT_TRUE(committed.ok());
  EXPECT_TRUE(committed->empty());
}

TEST_P(LogConformanceTest, PollWaitsWithoutRecordsAndWakesForNewOnes) {
  const std::string b = Topic("b");
  auto c = Subscribe(Group("wait"), b);
  ASSERT_NE(c, nullptr);
  auto t0 = std::chrono::steady_clock::now();
  auto empty = c->Poll(10, 400ms);
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 300ms);
  std::thread producer([&] {
    std::this_thread::sleep_for(200ms);
    EXPECT_TRUE(AppendTo(b, 0, 1, "late").ok());
  });
  auto got = PollN(c.get(), 1);
  producer.join();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].value, "late-0");
}

TEST_P(LogConformanceTest, CommittedOffsetsAndDataSurviveReopen) {
  const std::string a = Topic("a");
  ASSERT_TRUE(AppendTo(a, 1, 4, "d").ok());
  const std::string g = Group("reopen");
  {
    auto c = Subscribe(g, a);
    ASSERT_NE(c, nullptr);
    ASSERT_EQ(PollN(c.get(), 4).size(), 4u);
    ASSERT_TRUE(c->Commit({{1, 3}}).ok());
  }
  log_.reset();
  log_ = Open();
  ASSERT_NE(log_, nullptr);
  EXPECT_EQ(log_->EndOffset(a, 1), 4);
  auto committed = log_->Committed(g, a);
  ASSERT_TRUE(committed.ok());
  EXPECT_EQ(*committed, (std::map<PartitionId, Offset>{{1, 3}}));
  auto c = Subscribe(g, a);
  ASSERT_NE(c, nullptr);
  auto got = PollN(c.get(), 1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].value, "d-3");
}

TEST_P(LogConformanceTest, LagsReportCommittedAndEnd) {
  const std::string b = Topic("b");
  ASSERT_TRUE(AppendTo(b, 0, 9, "l").ok());
  const std::string g = Group("lag");
  auto c = Subscribe(g, b);
  ASSERT_NE(c, nullptr);
  ASSERT_EQ(PollN(c.get(), 9).size(), 9u);
  ASSERT_TRUE(c->Commit({{0, 6}}).ok());
  bool found = false;
  for (const GroupLag& lag : log_->Lags()) {
    if (lag.group != g) continue;
    found = true;
    EXPECT_EQ(lag.topic, b);
    EXPECT_EQ(lag.partition, 0);
    EXPECT_EQ(lag.committed, 6);
    EXPECT_EQ(lag.end, 9);
  }
  EXPECT_TRUE(found);
}

TEST_P(LogConformanceTest, ConcurrentAppendsAreAllDurableWithDistinctOffsets) {
  const std::string a = Topic("a");
  constexpr int kThreads = 4, kPer = 50;
  std::vector<std::thread> threads;
  std::vector<std::vector<Offset>> offsets(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPer; ++i) {
        std::vector<Offset> o;
        EXPECT_TRUE(AppendTo(a, 0, 2, "t" + std::to_string(t) + "." + std::to_string(i), &o).ok());
        offsets[t].insert(offsets[t].end(), o.begin(), o.end());
      }
    });
  }
  for (auto& t : threads) t.join();
  std::set<Offset> all;
  for (const auto& o : offsets) all.insert(o.begin(), o.end());
  EXPECT_EQ(all.size(), size_t{kThreads * kPer * 2});
  EXPECT_EQ(*all.rbegin(), kThreads * kPer * 2 - 1);
  EXPECT_EQ(ReadPartition(a, 0).size(), size_t{kThreads * kPer * 2});
}

INSTANTIATE_TEST_SUITE_P(Backends, LogConformanceTest, ::testing::Values("file", "kafka"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace viewpipe
