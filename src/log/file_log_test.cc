#include "log/file_log.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <thread>

#include "common/metrics.h"
#include "log/log_test_util.h"

namespace viewpipe {
namespace {

using FileLogTest = LogTest;

TEST(HashPartitionTest, IsFnv1aModPartitions) {
  // FNV-1a 32 of "a" is 0xE40C292C.
  EXPECT_EQ(HashPartition("a", 1000), static_cast<PartitionId>(0xE40C292Cu % 1000));
  EXPECT_EQ(HashPartition("", 4), static_cast<PartitionId>(2166136261u % 4));
  EXPECT_EQ(HashPartition("anything", 1), 0);
  for (int i = 0; i < 100; ++i) {
    PartitionId p = HashPartition("session-" + std::to_string(i), 4);
    EXPECT_GE(p, 0);
    EXPECT_LT(p, 4);
  }
}

TEST_F(FileLogTest, AppendAndReadBack) {
  auto log = Open();
  std::vector<Offset> offsets;
  ASSERT_TRUE(AppendN(log.get(), 3, "a", "t", 0, kT0, &offsets).ok());
  EXPECT_EQ(offsets, (std::vector<Offset>{0, 1, 2}));
  ASSERT_TRUE(AppendN(log.get(), 2, "b", "t", 0, kT0, &offsets).ok());
  EXPECT_EQ(offsets, (std::vector<Offset>{3, 4}));
  EXPECT_EQ(log->StartOffset("t", 0), 0);
  EXPECT_EQ(log->EndOffset("t", 0), 5);
  auto recs = ReadAll(log.get());
  ASSERT_EQ(recs.size(), 5u);
  EXPECT_EQ(recs[0].value, "a-0");
  EXPECT_EQ(recs[4].value, "b-1");
  EXPECT_EQ(recs[4].offset, 4);
  EXPECT_EQ(recs[1].timestamp_ms, kT0 + 1);
  EXPECT_EQ(recs[1].key, "k");
  EXPECT_EQ(ReadAll(log.get(), "t", 0, 3).size(), 2u);
  EXPECT_GT(log->SizeBytes(), 0u);
  EXPECT_TRUE(log->Health().ok());
}

TEST_F(FileLogTest, RoutesByKeyAcrossTopicsAndPartitions) {
  options_.topics = DefaultTopics();
  auto log = Open();
  EXPECT_EQ(log->Partitions(kTopicViewing), 4);
  EXPECT_EQ(log->Partitions(kTopicQoe), 2);
  EXPECT_EQ(log->Partitions(kTopicDeadLetters), 1);
  EXPECT_EQ(log->Partitions("nope"), 0);
  std::vector<std::string> keys;
  for (int i = 0; i < 40; ++i) keys.push_back("session-" + std::to_string(i));
  std::vector<ProduceRecord> records;
  for (const auto& k : keys) records.push_back({kTopicViewing, k, "v", kT0, -1});
  records.push_back({kTopicQoe, "q", "qoe-value", kT0, 1});
  std::vector<Offset> offsets;
  ASSERT_TRUE(log->Append(records, &offsets).ok());
  ASSERT_EQ(offsets.size(), records.size());
  std::map<PartitionId, Offset> expected_next;
  for (size_t i = 0; i < keys.size(); ++i) {
    PartitionId p = log->PartitionForKey(kTopicViewing, keys[i]);
    EXPECT_EQ(offsets[i], expected_next[p]++) << "dense per partition, in input order";
  }
  for (const auto& [p, n] : expected_next) EXPECT_EQ(log->EndOffset(kTopicViewing, p), n);
  EXPECT_EQ(log->EndOffset(kTopicQoe, 1), 1);
  EXPECT_EQ(ReadAll(log.get(), kTopicQoe, 1)[0].value, "qoe-value");
}

TEST_F(FileLogTest, RejectsBadInput) {
  auto log = Open();
  std::vector<ProduceRecord> bad_topic = {{"nope", "k", "v", kT0, -1}};
  EXPECT_EQ(log->Append(bad_topic).code(), Status::Code::kInvalidArgument);
  std::vector<ProduceRecord> bad_partition = {{"t", "k", "v", kT0, 1}};
  EXPECT_EQ(log->Append(bad_partition).code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(log->EndOffset("t", 0), 0);
  EXPECT_TRUE(log->Append({}).ok());
  options_.topics = {{"t", 2}};
  log.reset();
  EXPECT_EQ(FileLog::Open(options_).status().code(), Status::Code::kInvalidArgument)
      << "partition count of a topic with data cannot change";
  options_.topics = {{"groups", 1}};
  EXPECT_FALSE(FileLog::Open(options_).ok());
}

TEST_F(FileLogTest, OffsetsAndDataSurviveRestart) {
  {
    auto log = Open();
    ASSERT_TRUE(AppendN(log.get(), 10, "a").ok());
  }
  RecoveryReport report;
  auto log = Open(&report);
  EXPECT_TRUE(report.Clean()) << report.ToString();
  ASSERT_EQ(report.partitions.size(), 1u);
  EXPECT_EQ(report.partitions[0].end_offset, 10);
  EXPECT_EQ(report.partitions[0].records_scanned, 10u);
  EXPECT_EQ(log->EndOffset("t", 0), 10);
  std::vector<Offset> offsets;
  ASSERT_TRUE(AppendN(log.get(), 1, "b", "t", 0, kT0, &offsets).ok());
  EXPECT_EQ(offsets[0], 10);
  EXPECT_EQ(ReadAll(log.get()).size(), 11u);
}

TEST_F(FileLogTest, LockKeepsOutASecondWriter) {
  auto log = Open();
  auto second = FileLog::Open(options_);
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.status().message().find("another writer"), std::string::npos)
      << second.status().ToString();
  log.reset();
  EXPECT_TRUE(FileLog::Open(options_).ok());
}

TEST_F(FileLogTest, ReadOnlyOpenOfALiveLog) {
  options_.topics = {{"t", 1}, {"u", 2}};
  auto log = Open();
  ASSERT_TRUE(AppendN(log.get(), 5, "a").ok());
  FileLogOptions ro = options_;
  ro.read_only = true;
  ro.topics = {};  // a read-only open learns the topics from the disk
  auto reader = FileLog::Open(ro);
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  EXPECT_EQ((*reader)->Topics(), (std::map<std::string, int>{{"t", 1}, {"u", 2}}));
  EXPECT_EQ((*reader)->EndOffset("t", 0), 5);
  EXPECT_EQ(ReadAll(reader->get()).size(), 5u);
  EXPECT_EQ((*reader)->Append(std::vector<ProduceRecord>{{"t", "k", "v"}}).code(),
            Status::Code::kInvalidArgument);
  EXPECT_FALSE((*reader)->EnforceRetention().ok());
  // The writer keeps going; the read-only view is a snapshot.
  ASSERT_TRUE(AppendN(log.get(), 5, "b").ok());
  EXPECT_EQ((*reader)->EndOffset("t", 0), 5);
  ro.dir = JoinPath(tmp_.path(), "missing");
  EXPECT_TRUE(FileLog::Open(ro).status().IsNotFound());
}

TEST_F(FileLogTest, SegmentsRollAndReadAcrossThem) {
  options_.segment_bytes = 4096;
  options_.index_interval_bytes = 256;
  auto log = Open();
  for (int i = 0; i < 200; ++i) ASSERT_TRUE(AppendN(log.get(), 10, "r" + std::to_string(i)).ok());
  auto files = env_.GetChildren(PartitionDir());
  ASSERT_TRUE(files.ok());
  int logs = 0;
  for (const auto& f : *files) logs += f.ends_with(".log");
  EXPECT_GT(logs, 3);
  auto recs = ReadAll(log.get());
  ASSERT_EQ(recs.size(), 2000u);
  for (size_t i = 0; i < recs.size(); ++i) ASSERT_EQ(recs[i].offset, static_cast<Offset>(i));
  // Random access through the index.
  for (Offset from : {0, 1, 99, 257, 1000, 1998, 1999, 2000}) {
    auto tail = ReadAll(log.get(), "t", 0, from);
    ASSERT_EQ(tail.size(), 2000u - from) << from;
    if (!tail.empty()) {
      EXPECT_EQ(tail[0].offset, from);
    }
  }
  log.reset();
  RecoveryReport report;
  log = Open(&report);
  EXPECT_TRUE(report.Clean()) << report.ToString();
  EXPECT_FALSE(report.partitions[0].index_rebuilt);
  EXPECT_EQ(ReadAll(log.get()).size(), 2000u);
}

TEST_F(FileLogTest, PageCacheBehindTheWriteHeadIsDroppedOnlyOnceDurable) {
  constexpr uint64_t kKeep = 64 << 10;
  options_.page_cache_bytes = kKeep;
  options_.segment_bytes = 3 << 20;  // rolls once
  auto log = Open();
  const std::string pad(1000, 'x');
  auto logs_so_far = [&] {
    auto files = env_.GetChildren(PartitionDir());
    return files.ok() ? std::count_if(files->begin(), files->end(),
                                      [](const std::string& f) { return f.ends_with(".log"); })
                      : 0;
  };
  uint64_t furthest = 0;
  int drops_seen = 0;
  for (int i = 0; i < 60; ++i) {
    ASSERT_TRUE(AppendN(log.get(), 100, pad + std::to_string(i)).ok());
    // The newest kKeep durable bytes stay; nothing unsynced is ever advised.
    const std::string first = SegmentPath(0);
    const uint64_t dropped = env_.CacheDroppedTo(first);
    if (dropped > furthest) ++drops_seen;
    furthest = std::max(furthest, dropped);
    if (logs_so_far() == 1 && dropped > 0) {  // while it is the active segment
      EXPECT_LE(dropped + kKeep, env_.SyncedSize(first)) << i;
    }
  }
  EXPECT_EQ(env_.CacheDropsPastSynced(), 0u);
  EXPECT_GE(drops_seen, 2);  // in steps, not once at the end
  EXPECT_GE(furthest + kKeep + Partition::kCacheDropStep, env_.SyncedSize(SegmentPath(0)));
  // The next segment drops from its own start.
  auto files = env_.GetChildren(PartitionDir());
  ASSERT_TRUE(files.ok());
  std::vector<std::string> logs;
  for (const auto& f : *files) {
    if (f.ends_with(".log") && f != Segment::FileName(0, ".log")) logs.push_back(f);
  }
  ASSERT_EQ(logs.size(), 1u);
  const std::string second = JoinPath(PartitionDir(), logs[0]);
  EXPECT_GT(env_.CacheDroppedTo(second), 0u);
  EXPECT_LE(env_.CacheDroppedTo(second) + kKeep, env_.SyncedSize(second));
  // The closed segment's cached tail went too, once its successor held kKeep.
  EXPECT_EQ(env_.CacheDroppedTo(SegmentPath(0)), env_.SyncedSize(SegmentPath(0)));
  const std::vector<StoredRecord> recs = ReadAll(log.get());
  ASSERT_EQ(recs.size(), 6000u);
  // Advice never changes what is read back.
  for (size_t i = 0; i < recs.size(); ++i) {
    ASSERT_EQ(recs[i].value, pad + std::to_string(i / 100) + "-" + std::to_string(i % 100)) << i;
  }
}

TEST_F(FileLogTest, PageCacheIsLeftToTheKernelByDefault) {
  auto log = Open();
  const std::string pad(1000, 'x');
  for (int i = 0; i < 30; ++i) ASSERT_TRUE(AppendN(log.get(), 100, pad).ok());
  EXPECT_GT(env_.SyncedSize(SegmentPath(0)), 2u << 20);
  EXPECT_EQ(env_.CacheDroppedTo(SegmentPath(0)), 0u);
}

TEST_F(FileLogTest, IndexIsRebuiltWhenDeletedOrDamaged) {
  options_.segment_bytes = 4096;
  options_.index_interval_bytes = 256;
  {
    auto log = Open();
    for (int i = 0; i < 100; ++i) ASSERT_TRUE(AppendN(log.get(), 10, "r").ok());
  }
  auto files = env_.GetChildren(PartitionDir());
  ASSERT_TRUE(files.ok());
  std::vector<std::string> indexes;
  for (const auto& f : *files) {
    if (f.ends_with(".index")) indexes.push_back(JoinPath(PartitionDir(), f));
  }
  std::sort(indexes.begin(), indexes.end());
  ASSERT_GE(indexes.size(), 2u);
  ASSERT_TRUE(env_.RemoveFile(indexes[0]).ok());  // deleted
  WriteRaw(indexes[1], "not an index");           // damaged
  RecoveryReport report;
  auto log = Open(&report);
  EXPECT_TRUE(report.partitions[0].index_rebuilt);
  EXPECT_TRUE(report.Clean()) << report.ToString();
  auto recs = ReadAll(log.get(), "t", 0, 150);
  ASSERT_EQ(recs.size(), 850u);
  EXPECT_EQ(recs[0].offset, 150);
  log.reset();
  RecoveryReport again;
  log = Open(&again);
  EXPECT_FALSE(again.partitions[0].index_rebuilt) << "the rebuilt index was written back";
}

TEST_F(FileLogTest, RetentionByAge) {
  options_.segment_bytes = 4096;
  options_.retention_ms = 1000;
  auto log = Open();
  for (int i = 0; i < 60; ++i) ASSERT_TRUE(AppendN(log.get(), 10, "old", "t", 0, kT0).ok());
  for (int i = 0; i < 60; ++i) ASSERT_TRUE(AppendN(log.get(), 10, "new", "t", 0, kT0 + 5000).ok());
  clock_.Set(kT0 + 1500);  // the old records are past retention, the new ones are not
  auto deleted = log->EnforceRetention();
  ASSERT_TRUE(deleted.ok());
  EXPECT_GT(*deleted, 0);
  Offset start = log->StartOffset("t", 0);
  EXPECT_GT(start, 0);
  EXPECT_LE(start, 600) << "no segment with new records is deleted";
  EXPECT_EQ(log->EndOffset("t", 0), 1200);
  auto recs = ReadAll(log.get());
  ASSERT_EQ(recs.size(), static_cast<size_t>(1200 - start));
  EXPECT_EQ(recs[0].offset, start);
  clock_.Set(kT0 + 100000);
  ASSERT_TRUE(log->EnforceRetention().ok());
  EXPECT_GT(log->StartOffset("t", 0), 600) << "all closed segments go; the active one stays";
  log.reset();
  log = Open();
  EXPECT_GT(log->StartOffset("t", 0), 600);
  EXPECT_EQ(log->EndOffset("t", 0), 1200);
}

TEST_F(FileLogTest, RetentionBySize) {
  options_.segment_bytes = 4096;
  options_.retention_ms = -1;
  options_.retention_bytes = 10000;
  auto log = Open();
  for (int i = 0; i < 200; ++i) ASSERT_TRUE(AppendN(log.get(), 10, "r").ok());
  uint64_t before = log->SizeBytes();
  ASSERT_GT(before, 10000u);
  ASSERT_TRUE(log->EnforceRetention().ok());
  EXPECT_LE(log->SizeBytes(), 10000u);
  EXPECT_GT(log->SizeBytes(), 10000u - 4096u - 1024u);
  Offset start = log->StartOffset("t", 0);
  EXPECT_GT(start, 0);
  EXPECT_EQ(ReadAll(log.get()).size(), static_cast<size_t>(2000 - start));
  EXPECT_FALSE(env_.FileExists(SegmentPath(0)));
}

// Many appenders at once, several batches per Append (two topics, one key
// each): group commit hands leadership from group to group and wakes each
// appender once. Every Append must return with its records durable at the
// offsets it was given, dense and distinct per partition.
TEST_F(FileLogTest, ManyConcurrentAppendersGetDenseDurableOffsets) {
  options_.topics = {{"t", 2}, {"u", 1}};
  auto log = Open();
  constexpr int kThreads = 16, kRounds = 40;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kRounds; ++i) {
        std::string v = std::to_string(t) + "." + std::to_string(i);
        std::vector<ProduceRecord> recs = {{"t", "k", v, kT0, t % 2}, {"u", "k", v, kT0, 0}};
        std::vector<Offset> o;
        if (!log->Append(recs, &o).ok() || log->EndOffset("t", t % 2) <= o[0] ||
            log->EndOffset("u", 0) <= o[1]) {
          ++failures;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0) << "an Append failed or returned before its records were durable";
  auto u = ReadAll(log.get(), "u");
  ASSERT_EQ(u.size(), size_t{kThreads * kRounds});
  for (size_t i = 0; i < u.size(); ++i) EXPECT_EQ(u[i].offset, static_cast<Offset>(i));
  EXPECT_EQ(ReadAll(log.get(), "t", 0).size() + ReadAll(log.get(), "t", 1).size(), u.size());
}

TEST_F(FileLogTest, MetricsAreExported) {
  MetricsRegistry metrics;
  options_.metrics = &metrics;
  {
    auto log = Open();
    ASSERT_TRUE(AppendN(log.get(), 7, "a").ok());
    auto consumer = log->Subscribe("ops", "t");
    ASSERT_TRUE(consumer.ok());
    ASSERT_TRUE((*consumer)->Commit({{0, 2}}).ok());
    std::string text = metrics.RenderPrometheus();
    EXPECT_NE(text.find("viewpipe_log_append_records_total 7\n"), std::string::npos) << text;
    EXPECT_NE(text.find("viewpipe_log_fsync_seconds_count 1\n"), std::string::npos) << text;
    EXPECT_NE(text.find("viewpipe_log_end_offset{topic=\"t\",partition=\"0\"} 7\n"),
              std::string::npos);
    EXPECT_EQ(text.find("viewpipe_consumer_lag"), std::string::npos)
        << "lag is registered by the owner of the log, from Lags()";
    EXPECT_NE(text.find("viewpipe_log_bytes{topic=\"t\",partition=\"0\"}"), std::string::npos);
  }
  // The registry outlives the log: its samplers must not touch the closed log.
  std::string text = metrics.RenderPrometheus();
  EXPECT_EQ(text.find("viewpipe_log_end_offset{"), std::string::npos);
}

}  // namespace
}  // namespace viewpipe
