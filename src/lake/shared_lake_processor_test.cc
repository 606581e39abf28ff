// Several lake path processes (LakeProcessor with writer_options.shared)
// writing one lake: partitions handed over between them (Reassign), an old
// owner's late commit fenced off, a dead process's uncommitted rows written
// by the next owner, sealing only once every partition's watermark passed
// the day. Real Parquet files on a local store; the group's assignment is
// given by the test, as ConsumerRunner would.

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <set>

#include "common/scoped_temp_dir.h"
#include "event/codec.h"
#include "lake/commit_merge.h"
#include "lake/lake_processor.h"
#include "lake/lake_test_util.h"
#include "lake/local_object_store.h"
#include "lake/root_log.h"
#include "log/file_log.h"

namespace viewpipe {
namespace {

constexpr int kPartitions = 3;
constexpr int kPerPartition = 60;

class SharedLakeProcessorTest : public ::testing::Test {
 protected:
  SharedLakeProcessorTest() : clock_(kDay0 + 2 * kMsPerHour) {
    spdlog::set_level(spdlog::level::err);
    FileLogOptions lo;
    lo.dir = tmp_.path() + "/log";
    lo.clock = &clock_;
    lo.topics = {{std::string(kTopicViewing), kPartitions}};
    lo.min_free_bytes = 0;
    log_ = std::move(FileLog::Open(lo)).value();
    // Records of partition p: events "ev-p-i" at hour 0 and 1 of day 0.
    for (int p = 0; p < kPartitions; ++p) {
      for (int i = 0; i < kPerPartition; ++i) {
        OwnedEvent e = MakeEvent(p * 1000 + i, kDay0 + (i % 2) * kMsPerHour + i * 1000);
        e.event_id = "ev-" + std::to_string(p) + "-" + std::to_string(i);
        std::string value;
        EncodeEvent(e.view(), &value);
        values_[p].push_back(std::move(value));
      }
    }
  }

  std::unique_ptr<LakeProcessor> Process(const std::string& name) {
    LakeWriterOptions wo;
    wo.store = Store();
    wo.clock = &clock_;
    wo.parquet.scratch_dir = tmp_.path() + "/scratch-" + name;
    wo.parquet.zstd_level = 1;
    wo.shared = true;
    wo.source_partitions = kPartitions;
    wo.seal_grace_ms = kMsPerHour;
    wo.hour_close_ms = 60 * 1000;
    wo.tombstone_grace_ms = 0;
    auto p = std::make_unique<LakeProcessor>(log_.get(), std::string(kTopicViewing), wo, 5000);
    auto restored = p->Restore();
    EXPECT_TRUE(restored.ok()) << restored.status().ToString();
    EXPECT_TRUE(restored->empty());  // shared: the partitions come with Reassign
    return p;
  }

  ObjectStore* Store() {
    stores_.push_back(std::make_unique<LocalObjectStore>(Env::Default(), tmp_.path() + "/lake"));
    return stores_.back().get();
  }

  // Records [from, to) of partition p, as the runner would hand them over.
  Status Feed(LakeProcessor* proc, PartitionId p, Offset from, Offset to) {
    std::vector<ConsumedRecord> records;
    for (Offset o = from; o < to; ++o) {
      ConsumedRecord r;
      r.partition = p;
      r.offset = o;
      r.timestamp_ms = clock_.NowMs();
      r.value = values_[p][o];
      records.push_back(r);
    }
    return proc->Process(records);
  }

  std::multiset<std::string> LakeIds() {
    LocalObjectStore store(Env::Default(), tmp_.path() + "/lake");
    LakeReader reader(&store);
    std::multiset<std::string> ids;
    for (const auto& [id, date] : ReadLakeRows(&reader)) ids.insert(id);
    return ids;
  }

  ScopedTempDir tmp_;
  ManualClock clock_;
  std::unique_ptr<FileLog> log_;
  std::map<PartitionId, std::vector<std::string>> values_;
  std::vector<std::unique_ptr<ObjectStore>> stores_;
};

TEST_F(SharedLakeProcessorTest, PartitionsMoveBetweenProcessesAndEveryRecordIsWrittenOnce) {
  auto a = Process("a");
  auto b = Process("b");
  auto first_a = a->Reassign({}, {0, 1});
  auto first_b = b->Reassign({}, {2});
  ASSERT_TRUE(first_a.ok() && first_b.ok());
  EXPECT_EQ(*first_a, (std::map<PartitionId, Offset>{{0, 0}, {1, 0}}));
  EXPECT_EQ(*first_b, (std::map<PartitionId, Offset>{{2, 0}}));

  ASSERT_TRUE(Feed(a.get(), 0, 0, 30).ok());
  ASSERT_TRUE(Feed(a.get(), 1, 0, 30).ok());
  ASSERT_TRUE(a->Checkpoint({}).ok());
  ASSERT_TRUE(Feed(b.get(), 2, 0, 20).ok());
  ASSERT_TRUE(b->Checkpoint({}).ok());
  // b reads on, and the group takes partition 2 from it before it commits
  // (b is stuck, or dead): a gains it at the lake's offset, 20.
  ASSERT_TRUE(Feed(b.get(), 2, 20, 40).ok());
  ASSERT_TRUE(Feed(a.get(), 1, 30, 45).ok());  // buffered when a gives partition 1 up
  auto moved = a->Reassign({1}, {2});
  ASSERT_TRUE(moved.ok()) << moved.status().ToString();
  EXPECT_EQ(*moved, (std::map<PartitionId, Offset>{{2, 20}}));
  EXPECT_EQ(a->stats().root.offsets.at(1), 45);  // committed on the way out
  ASSERT_TRUE(Feed(a.get(), 2, 20, kPerPartition).ok());
  ASSERT_TRUE(Feed(a.get(), 0, 30, kPerPartition).ok());
  ASSERT_TRUE(a->Checkpoint({}).ok());
  // A third process takes partition 1 where a's hand-over commit left it.
  auto c = Process("c");
  auto gained = c->Reassign({}, {1});
  ASSERT_TRUE(gained.ok());
  EXPECT_EQ(*gained, (std::map<PartitionId, Offset>{{1, 45}}));
  ASSERT_TRUE(Feed(c.get(), 1, 45, kPerPartition).ok());
  ASSERT_TRUE(c->Checkpoint({}).ok());
  // b wakes up and commits records 20..39 of partition 2: a has them.
  Status late = b->Checkpoint({});
  EXPECT_TRUE(IsCommitConflict(late)) << late.ToString();

  auto root = LoadLatestRoot(Store());
  ASSERT_TRUE(root.ok());
  EXPECT_EQ(root->offsets, (std::map<PartitionId, Offset>{{0, 60}, {1, 60}, {2, 60}}));
  std::multiset<std::string> ids = LakeIds();
  EXPECT_EQ(ids.size(), static_cast<size_t>(kPartitions * kPerPartition));
  for (const std::string& id : ids) EXPECT_EQ(ids.count(id), 1u) << id;
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(),
            static_cast<size_t>(kPartitions * kPerPartition));
}

TEST_F(SharedLakeProcessorTest, AGainedPartitionsDuplicatesAreDroppedAgainstTheNewestFiles) {
  auto a = Process("a");
  auto b = Process("b");
  ASSERT_TRUE(a->Reassign({}, {0}).ok());
  ASSERT_TRUE(b->Reassign({}, {1, 2}).ok());
  // b loads day 0's event ids before a has written anything.
  ASSERT_TRUE(Feed(b.get(), 1, 0, 10).ok());
  ASSERT_TRUE(b->Checkpoint({}).ok());
  ASSERT_TRUE(Feed(a.get(), 0, 0, 10).ok());
  ASSERT_TRUE(a->Checkpoint({}).ok());
  // Partition 0 moves to b; a player's retry of ev-0-3 (beyond any
  // collector dedup window) is the partition's next record.
  ASSERT_TRUE(b->Reassign({}, {0}).ok());
  values_[0][10] = values_[0][3];
  ASSERT_TRUE(Feed(b.get(), 0, 10, 11).ok());
  ASSERT_TRUE(b->Checkpoint({}).ok());
  EXPECT_EQ(b->stats().writer.duplicates, 1u);
  EXPECT_EQ(LakeIds().size(), 20u);
}

TEST_F(SharedLakeProcessorTest, TheMaintainerSealsOnceEveryPartitionsWatermarkPassed) {
  auto a = Process("a");  // owns partition 0: compacts and seals
  auto b = Process("b");
  ASSERT_TRUE(a->Reassign({}, {0, 1}).ok());
  ASSERT_TRUE(b->Reassign({}, {2}).ok());
  for (int round = 0; round < 2; ++round) {  // two files per hour and writer
    ASSERT_TRUE(Feed(a.get(), 0, round * 30, round * 30 + 30).ok());
    ASSERT_TRUE(Feed(a.get(), 1, round * 30, round * 30 + 30).ok());
    ASSERT_TRUE(a->Checkpoint({}).ok());
    ASSERT_TRUE(Feed(b.get(), 2, round * 30, round * 30 + 30).ok());
    ASSERT_TRUE(b->Checkpoint({}).ok());
  }
  const EventDate day = EventDate::OfMs(kDay0);
  // The next day, past the grace: a is idle (its watermark follows the
  // clock) but b has not said where it is yet, so nothing is sealed.
  clock_.Set(kDay0 + kMsPerDay + 2 * kMsPerHour);
  for (int i = 0; i < 3; ++i) {
    a->Idle();
    clock_.Advance(11000);
  }
  ASSERT_TRUE(a->idle_error().ok()) << a->idle_error().ToString();
  EXPECT_FALSE(a->stats().root.days.at(day).sealed);
  EXPECT_GT(a->stats().writer.compactions, 0u);  // closed hours of the day are compacted
  b->Idle();
  ASSERT_TRUE(b->idle_error().ok()) << b->idle_error().ToString();
  EXPECT_FALSE(b->stats().root.days.at(day).sealed);  // b does not seal
  for (int i = 0; i < 4 && !a->stats().root.days.at(day).sealed; ++i) {
    clock_.Advance(11000);
    a->Idle();
  }
  ASSERT_TRUE(a->idle_error().ok()) << a->idle_error().ToString();
  EXPECT_TRUE(a->stats().root.days.at(day).sealed);
  LocalObjectStore store(Env::Default(), tmp_.path() + "/lake");
  EXPECT_TRUE(store.Exists(SuccessKey(day)));
  EXPECT_EQ(LakeIds().size(), static_cast<size_t>(kPartitions * kPerPartition));
}

TEST_F(SharedLakeProcessorTest, APartitionReadToItsEndGetsAWatermarkWithoutIdling) {
  auto a = Process("a");
  ASSERT_TRUE(a->Reassign({}, {0, 1, 2}).ok());
  // Only partition 0 has records here (they are not in the log: its end
  // offset stays 0); 1 and 2 are read to their end, 0 is not.
  ASSERT_TRUE(Feed(a.get(), 0, 0, 30).ok());
  clock_.Advance(60000);
  ASSERT_TRUE(a->Checkpoint({}).ok());
  auto root = LoadLatestRoot(Store());
  ASSERT_TRUE(root.ok());
  EXPECT_EQ(root->watermarks.at(0), clock_.NowMs() - 60000);  // its newest record's
  EXPECT_EQ(root->watermarks.at(1), clock_.NowMs() - 5000);   // caught up: the clock's
  EXPECT_EQ(root->watermarks.at(2), clock_.NowMs() - 5000);
}

}  // namespace
}  // namespace viewpipe
