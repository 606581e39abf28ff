// Recovery: torn and corrupt tails, power loss, corruption in old segments.

#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>

#include "log/file_log.h"
#include "log/log_test_util.h"

namespace viewpipe {
namespace {

class RecoveryTest : public LogTest {
 protected:
  // Writes three batches of three records; remembers where the last starts.
  void WriteThreeBatches() {
    auto log = Open();
    ASSERT_TRUE(AppendN(log.get(), 3, "a").ok());
    ASSERT_TRUE(AppendN(log.get(), 3, "b").ok());
    last_batch_start_ = FileSize(SegmentPath(0));
    ASSERT_TRUE(AppendN(log.get(), 3, "c").ok());
    log.reset();
    original_ = ReadRaw(SegmentPath(0));
    ASSERT_GT(original_.size(), last_batch_start_);
  }

  // Opens the damaged log and checks the first two batches survived intact.
  void ExpectFirstTwoBatchesOnly(uint64_t cut, const std::string& what) {
    RecoveryReport report;
    auto log = Open(&report);
    ASSERT_NE(log, nullptr) << what;
    ASSERT_EQ(report.partitions.size(), 1u);
    EXPECT_EQ(report.partitions[0].bytes_truncated, cut) << what;
    EXPECT_EQ(report.partitions[0].end_offset, 6) << what;
    EXPECT_EQ(report.partitions[0].records_scanned, 6u) << what;
    EXPECT_FALSE(report.partitions[0].problem.empty()) << what;
    EXPECT_EQ(report.partitions[0].problem.find("acknowledged"), std::string::npos) << what;
    EXPECT_EQ(log->EndOffset("t", 0), 6) << what;
    auto recs = ReadAll(log.get());
    ASSERT_EQ(recs.size(), 6u) << what;
    EXPECT_EQ(recs[2].value, "a-2");
    EXPECT_EQ(recs[5].value, "b-2");
    EXPECT_EQ(FileSize(SegmentPath(0)), last_batch_start_) << what;
    // The log takes new records right after the cut.
    std::vector<Offset> offsets;
    ASSERT_TRUE(AppendN(log.get(), 1, "d", "t", 0, kT0, &offsets).ok());
    EXPECT_EQ(offsets[0], 6);
  }

  uint64_t last_batch_start_ = 0;
  std::string original_;
};

TEST_F(RecoveryTest, CorruptionAtEveryByteOfTheLastBatchCutsExactlyThatBatch) {
  WriteThreeBatches();
  for (size_t i = last_batch_start_; i < original_.size(); ++i) {
    std::string bad = original_;
    bad[i] = static_cast<char>(bad[i] ^ 0x5A);
    WriteRaw(SegmentPath(0), bad);
    ExpectFirstTwoBatchesOnly(original_.size() - last_batch_start_, "flip at " + std::to_string(i));
    if (HasFatalFailure()) return;
  }
}

TEST_F(RecoveryTest, TornWriteAtEveryByteOfTheLastBatch) {
  WriteThreeBatches();
  for (size_t len = last_batch_start_ + 1; len < original_.size(); ++len) {
    WriteRaw(SegmentPath(0), std::string_view(original_).substr(0, len));
    ExpectFirstTwoBatchesOnly(len - last_batch_start_, "torn at " + std::to_string(len));
    if (HasFatalFailure()) return;
  }
  WriteRaw(SegmentPath(0), std::string_view(original_).substr(0, last_batch_start_));
  RecoveryReport report;
  auto log = Open(&report);
  EXPECT_TRUE(report.Clean()) << "a cut at a batch boundary is a clean log";
  EXPECT_EQ(log->EndOffset("t", 0), 6);
}

TEST_F(RecoveryTest, DamageBeforeValidBatchesIsCutAndFlagged) {
  WriteThreeBatches();
  std::string bad = original_;
  size_t in_second_batch = last_batch_start_ - 5;  // a value byte of batch two
  bad[in_second_batch] = static_cast<char>(bad[in_second_batch] ^ 1);
  WriteRaw(SegmentPath(0), bad);
  RecoveryReport report;
  auto log = Open(&report);
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(log->EndOffset("t", 0), 3);
  EXPECT_NE(report.ToString().find("acknowledged records lost"), std::string::npos)
      << report.ToString();
}

TEST_F(RecoveryTest, ZeroFilledTailIsCut) {
  WriteThreeBatches();
  WriteRaw(SegmentPath(0), original_ + std::string(4096, '\0'));
  RecoveryReport report;
  auto log = Open(&report);
  EXPECT_EQ(report.BytesTruncated(), 4096u);
  EXPECT_EQ(log->EndOffset("t", 0), 9);
}

TEST_F(RecoveryTest, DropUnsyncedDataKeepsEveryAcknowledgedAppend) {
  options_.topics = {{"t", 3}};
  auto log = Open();
  std::atomic<bool> crash{false};
  std::vector<std::set<std::string>> acked(4);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200 && !crash; ++i) {
        std::vector<std::string> values;
        std::vector<ProduceRecord> recs;
        for (int j = 0; j < 20; ++j)
          values.push_back(std::to_string(t) + "-" + std::to_string(i) + "-" + std::to_string(j));
        for (const auto& v : values) recs.push_back({"t", v, v, kT0, -1});
        if (log->Append(recs).ok()) acked[t].insert(values.begin(), values.end());
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  env_.SetSyncError(true);  // the power goes out: nothing more becomes durable
  crash = true;
  for (auto& th : threads) th.join();
  log.reset();
  ASSERT_TRUE(env_.DropUnsyncedData().ok());
  env_.SetSyncError(false);
  RecoveryReport report;
  log = Open(&report);
  ASSERT_NE(log, nullptr);
  std::set<std::string> present;
  for (int p = 0; p < 3; ++p) {
    auto recs = ReadAll(log.get(), "t", p);
    for (size_t i = 0; i < recs.size(); ++i) {
      ASSERT_EQ(recs[i].offset, static_cast<Offset>(i)) << "dense offsets";
      ASSERT_EQ(recs[i].key, recs[i].value);
      ASSERT_EQ(log->PartitionForKey("t", recs[i].key), p);
      ASSERT_TRUE(present.insert(recs[i].value).second) << "no duplicates";
    }
  }
  size_t total_acked = 0;
  for (const auto& set : acked) {
    total_acked += set.size();
    for (const auto& v : set) ASSERT_TRUE(present.count(v)) << v << " was acknowledged";
  }
  EXPECT_GT(total_acked, 0u);
}

TEST_F(RecoveryTest, UnsyncedRecordsAreGoneAfterPowerLoss) {
  auto log = Open();
  ASSERT_TRUE(AppendN(log.get(), 5, "kept").ok());
  env_.SetSyncError(true);
  EXPECT_FALSE(AppendN(log.get(), 5, "lost").ok());
  EXPECT_EQ(log->EndOffset("t", 0), 5);
  EXPECT_EQ(ReadAll(log.get()).size(), 5u);
  log.reset();
  ASSERT_TRUE(env_.DropUnsyncedData().ok());
  env_.SetSyncError(false);
  RecoveryReport report;
  log = Open(&report);
  EXPECT_TRUE(report.Clean()) << report.ToString();
  auto recs = ReadAll(log.get());
  ASSERT_EQ(recs.size(), 5u);
  EXPECT_EQ(recs[4].value, "kept-4");
}

TEST_F(RecoveryTest, NewSegmentWithoutDataAfterACrashDuringRoll) {
  options_.segment_bytes = 4096;
  {
    auto log = Open();
    for (int i = 0; i < 40; ++i) ASSERT_TRUE(AppendN(log.get(), 10, "r").ok());
  }
  Offset end = 400;
  WriteRaw(SegmentPath(end), "");
  RecoveryReport report;
  auto log = Open(&report);
  ASSERT_NE(log, nullptr);
  EXPECT_TRUE(report.Clean()) << report.ToString();
  EXPECT_EQ(log->EndOffset("t", 0), end);
  ASSERT_TRUE(AppendN(log.get(), 10, "more").ok());
  EXPECT_EQ(FileSize(SegmentPath(end)) > 0, true);
  EXPECT_EQ(ReadAll(log.get()).size(), 410u);
}

class OldSegmentCorruptionTest : public LogTest {
 protected:
  void SetUp() override {
    options_.segment_bytes = 4096;
    auto log = Open();
    for (int i = 0; i < 40; ++i) ASSERT_TRUE(AppendN(log.get(), 10, "r" + std::to_string(i)).ok());
    log.reset();
    std::string seg = ReadRaw(SegmentPath(0));
    seg[seg.size() / 2] = static_cast<char>(seg[seg.size() / 2] ^ 0xFF);
    WriteRaw(SegmentPath(0), seg);
  }
  // Reading from 0 returns the records before the damage, then Corruption.
  void ExpectReaderStopsAtDamage(FileLog* log) {
    Status error;
    auto recs = ReadAll(log, "t", 0, 0, &error);
    EXPECT_TRUE(error.IsCorruption()) << error.ToString();
    EXPECT_NE(error.message().find("t/0"), std::string::npos) << error.message();
    EXPECT_GT(recs.size(), 0u);
    EXPECT_LT(recs.size(), 400u);
    for (size_t i = 0; i < recs.size(); ++i) EXPECT_EQ(recs[i].offset, static_cast<Offset>(i));
    // Past the damaged segment everything is readable.
    auto tail = ReadAll(log, "t", 0, 390);
    EXPECT_EQ(tail.size(), 10u);
  }
};

TEST_F(OldSegmentCorruptionTest, ReaderReportsItWhenTheIndexIsIntact) {
  RecoveryReport report;
  auto log = Open(&report);
  EXPECT_TRUE(report.Clean()) << "old segments are trusted at open; reads check every crc";
  ExpectReaderStopsAtDamage(log.get());
}

TEST_F(OldSegmentCorruptionTest, OpenReportsItWhenTheIndexIsRebuilt) {
  ASSERT_TRUE(env_.RemoveFile(SegmentPath(0, ".index")).ok());
  RecoveryReport report;
  auto log = Open(&report);
  ASSERT_NE(log, nullptr);
  EXPECT_FALSE(report.Clean());
  EXPECT_NE(report.partitions[0].problem.find("corrupt batch"), std::string::npos)
      << report.ToString();
  EXPECT_EQ(report.BytesTruncated(), 0u) << "closed segments are never cut";
  ExpectReaderStopsAtDamage(log.get());
}

}  // namespace
}  // namespace viewpipe
