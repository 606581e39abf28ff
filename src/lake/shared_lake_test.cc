// Several writers committing into one lake (partition_committer.h,
// commit_merge.h, root_log.h): the commit races are made to happen on cue by
// a store that runs another writer's commit just before a root is created.

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <functional>
#include <set>

#include "common/scoped_temp_dir.h"
#include "lake/commit_merge.h"
#include "lake/lake_test_util.h"
#include "lake/local_object_store.h"
#include "lake/partition_committer.h"
#include "lake/root_log.h"

namespace viewpipe {
namespace {

// A LocalObjectStore that calls before_root (once) when a root version is
// about to be created: the other writer wins that race.
class RacingStore final : public ObjectStore {
 public:
  explicit RacingStore(const std::string& root) : base_(Env::Default(), root) {}
  std::function<void()> before_root;

  Status Put(const std::string& k, std::string_view d) override { return base_.Put(k, d); }
  Status PutIfAbsent(const std::string& k, std::string_view d) override {
    if (RootVersionOfKey(k) > 0 && before_root) {
      auto f = std::move(before_root);
      before_root = nullptr;
      f();
    }
    return base_.PutIfAbsent(k, d);
  }
  Status PutFile(const std::string& k, const std::string& p, uint32_t* c) override {
    return base_.PutFile(k, p, c);
  }
  Result<std::string> Get(const std::string& k) override { return base_.Get(k); }
  Result<uint64_t> Size(const std::string& k) override { return base_.Size(k); }
  bool Exists(const std::string& k) override { return base_.Exists(k); }
  Result<std::vector<ObjectInfo>> List(const std::string& p) override { return base_.List(p); }
  Status Delete(const std::string& k) override { return base_.Delete(k); }
  Status Rename(const std::string& f, const std::string& t) override {
    return base_.Rename(f, t);
  }
  std::string ReadUri(const std::string& k) const override { return base_.ReadUri(k); }
  std::string RootUri() const override { return base_.RootUri(); }
  LocalObjectStore* base() { return &base_; }

 private:
  LocalObjectStore base_;
};

const EventDate kDate = EventDate::OfMs(kDay0);

class SharedLakeTest : public ::testing::Test {
 protected:
  SharedLakeTest() : clock_(kDay0 + kMsPerHour), store_(tmp_.path() + "/lake") {}

  std::unique_ptr<PartitionCommitter> Writer(CommitProbe probe = nullptr) {
    auto c = std::make_unique<PartitionCommitter>(&store_, &clock_, 1000, std::move(probe));
    c->set_staging_grace(3600 * 1000);
    EXPECT_TRUE(c->Recover().ok());
    return c;
  }

  // A commit of one staged file of `rows` rows, advancing partition p from
  // `from` to `to`.
  LakeCommit Data(PartitionCommitter* w, const std::string& name, PartitionId p, Offset from,
                  Offset to, int hour = 0) {
    LakeCommit c;
    StagedFile s;
    s.date = kDate;
    s.file.key = DataFileKey(kDate, hour, name + ".parquet");
    s.staged_key = w->StagingKey(name, s.file.key);
    s.file.hour = hour;
    s.file.rows = to - from;
    s.file.bytes = 100;
    EXPECT_TRUE(store_.Put(s.staged_key, "rows of " + name).ok());
    c.add.push_back(s);
    c.offsets = std::map<PartitionId, Offset>{{p, to}};
    c.offsets_from = {{p, from}};
    c.watermarks = {{p, kDay0 + to}};
    return c;
  }

  std::set<std::string> CommittedKeys() {
    LakeReader reader(&store_);
    auto files = reader.Files(LakeRange{});
    EXPECT_TRUE(files.ok()) << files.status().ToString();
    std::set<std::string> keys;
    for (const LakeFileRef& f : *files) keys.insert(f.key);
    return keys;
  }

  ScopedTempDir tmp_;
  ManualClock clock_;
  RacingStore store_;
};

TEST(CommitMergeTest, FenceAllowsOnlyTheOffsetTheWriterRead) {
  RootManifest root;
  root.version = 7;
  root.offsets = {{0, 100}, {1, 50}};
  EXPECT_TRUE(CheckFence(root, {{0, 100}, {1, 50}}).ok());
  EXPECT_TRUE(CheckFence(root, {{2, 0}}).ok());  // nobody committed partition 2 yet
  Status st = CheckFence(root, {{0, 100}, {1, 40}});
  EXPECT_TRUE(IsCommitConflict(st)) << st.ToString();
  EXPECT_NE(st.message().find("partition 1 is at offset 50"), std::string::npos) << st.ToString();
  EXPECT_FALSE(IsCommitConflict(Status::Aborted("crash")));
}

TEST(CommitMergeTest, RemovableOnlyWhileTheFilesAreInTheDay) {
  DayManifest day;
  day.date = kDate;
  day.files = {LakeFile{"a"}, LakeFile{"b"}};
  EXPECT_TRUE(CheckRemovable(day, {"a", "b"}).ok());
  EXPECT_TRUE(IsCommitConflict(CheckRemovable(day, {"a", "c"})));
}

TEST(CommitMergeTest, SealWatermarkIsTheSlowestPartitions) {
  RootManifest root;
  root.watermarks = {{0, 500}, {1, 300}};
  EXPECT_EQ(MinPartitionWatermark(root, 2), 300);
  EXPECT_EQ(MinPartitionWatermark(root, 3), 0);  // partition 2 has no watermark yet
  EXPECT_EQ(MinPartitionWatermark(root, 0), 0);
}

TEST(RootLogTest, KeysRoundTripAndOldRootsArePruned) {
  EXPECT_EQ(RootVersionOfKey(RootKey(42)), 42);
  EXPECT_EQ(RootVersionOfKey(RootKey(42) + ".tmp-1-0"), 0);
  EXPECT_EQ(RootVersionOfKey("_lake/roots/x.json"), 0);
  ScopedTempDir tmp;
  LocalObjectStore store(Env::Default(), tmp.path());
  for (int64_t v = 1; v <= 30; ++v) {
    RootManifest r;
    r.version = v;
    ASSERT_TRUE(CreateRoot(&store, r).ok());
  }
  // The same bytes again count as ours (a retried request); others do not.
  RootManifest same;
  same.version = 30;
  EXPECT_TRUE(CreateRoot(&store, same).ok());
  same.watermark_ms = 1;
  EXPECT_TRUE(IsAlreadyExists(CreateRoot(&store, same)));
  ASSERT_TRUE(PruneRoots(&store, 30, false).ok());
  auto listed = store.List(kRootsPrefix);
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(listed->size(), static_cast<size_t>(kKeptRoots));
  EXPECT_EQ(LoadLatestRoot(&store)->version, 30);
}

TEST_F(SharedLakeTest, ALegacyRootIsMigratedByTheFirstCommit) {
  RootManifest legacy;
  legacy.version = 5;
  legacy.offsets = {{0, 10}};
  ASSERT_TRUE(store_.Put(kRootManifestKey, EncodeRootManifest(legacy)).ok());
  auto w = Writer();
  EXPECT_EQ(w->root().version, 5);
  ASSERT_TRUE(w->Commit(Data(w.get(), "a", 0, 10, 20)).ok());
  EXPECT_FALSE(store_.Exists(kRootManifestKey));
  auto root = LoadLatestRoot(&store_);
  ASSERT_TRUE(root.ok());
  EXPECT_EQ(root->version, 6);
  EXPECT_EQ(root->offsets.at(0), 20);
}

TEST_F(SharedLakeTest, ACommitThatLosesTheRaceIsMergedOntoTheWinner) {
  auto a = Writer();
  auto b = Writer();
  // a owns partition 0, b partition 1; both add a file to the same day.
  LakeCommit ca = Data(a.get(), "from-a", 0, 0, 10);
  LakeCommit cb = Data(b.get(), "from-b", 1, 0, 7, 1);
  store_.before_root = [&] { ASSERT_TRUE(b->Commit(cb).ok()); };
  ASSERT_TRUE(a->Commit(ca).ok());
  EXPECT_EQ(a->conflicts(), 1u);
  auto root = LoadLatestRoot(&store_);
  ASSERT_TRUE(root.ok());
  EXPECT_EQ(root->version, 2);
  EXPECT_EQ(root->offsets, (std::map<PartitionId, Offset>{{0, 10}, {1, 7}}));
  EXPECT_EQ(root->watermarks.at(0), kDay0 + 10);
  EXPECT_EQ(root->watermarks.at(1), kDay0 + 7);
  EXPECT_EQ(root->days.at(kDate).rows, 17);
  EXPECT_EQ(root->days.at(kDate).manifest, 2);  // b's version 1, then a's on top
  EXPECT_EQ(CommittedKeys(), (std::set<std::string>{DataFileKey(kDate, 0, "from-a.parquet"),
                                                    DataFileKey(kDate, 1, "from-b.parquet")}));
  // The loser's day manifest attempt is not left behind.
  auto manifests = store_.List(DayPrefix(kDate) + "_manifest-v");
  ASSERT_TRUE(manifests.ok());
  EXPECT_EQ(manifests->size(), 2u);
  // b, still at its own root 1, commits again: merged onto a's root 2.
  ASSERT_TRUE(b->Commit(Data(b.get(), "from-b2", 1, 7, 9, 1)).ok());
  EXPECT_EQ(LoadLatestRoot(&store_)->offsets, (std::map<PartitionId, Offset>{{0, 10}, {1, 9}}));
  EXPECT_EQ(CommittedKeys().size(), 3u);
}

TEST_F(SharedLakeTest, ALateCommitOfAPartitionsOldOwnerIsFencedOff) {
  auto old_owner = Writer();
  ASSERT_TRUE(old_owner->Commit(Data(old_owner.get(), "old-1", 2, 0, 10)).ok());
  // The group moves partition 2: its new owner reads 10 from the lake and
  // commits records 10..25 before the old owner's last commit arrives.
  auto new_owner = Writer();
  ASSERT_EQ(new_owner->root().offsets.at(2), 10);
  ASSERT_TRUE(new_owner->Commit(Data(new_owner.get(), "new-1", 2, 10, 25)).ok());
  Status late = old_owner->Commit(Data(old_owner.get(), "old-2", 2, 10, 18));
  EXPECT_TRUE(IsCommitConflict(late)) << late.ToString();
  auto root = LoadLatestRoot(&store_);
  EXPECT_EQ(root->version, 2);
  EXPECT_EQ(root->offsets.at(2), 25);
  EXPECT_EQ(root->days.at(kDate).rows, 25);  // records 10..17 once, not twice
  EXPECT_EQ(CommittedKeys(), (std::set<std::string>{DataFileKey(kDate, 0, "old-1.parquet"),
                                                    DataFileKey(kDate, 0, "new-1.parquet")}));
  // The same fence when the race is lost first and found on the re-read.
  auto racer = Writer();  // reads root 2: partition 2 at 25
  store_.before_root = [&] {
    ASSERT_TRUE(new_owner->Commit(Data(new_owner.get(), "new-2", 2, 25, 30)).ok());
  };
  late = racer->Commit(Data(racer.get(), "racer", 2, 25, 29));
  EXPECT_TRUE(IsCommitConflict(late)) << late.ToString();
  EXPECT_EQ(LoadLatestRoot(&store_)->offsets.at(2), 30);
}

TEST_F(SharedLakeTest, OfTwoCompactionsOfTheSameFilesOneCommits) {
  auto a = Writer();
  ASSERT_TRUE(a->Commit(Data(a.get(), "f1", 0, 0, 5)).ok());
  ASSERT_TRUE(a->Commit(Data(a.get(), "f2", 0, 5, 9)).ok());
  auto b = Writer();
  auto compaction = [&](PartitionCommitter* w, const std::string& name) {
    LakeCommit c = Data(w, name, 0, 0, 9);
    c.offsets.reset();
    c.offsets_from.clear();
    c.watermarks.clear();
    c.remove[kDate] = {DataFileKey(kDate, 0, "f1.parquet"), DataFileKey(kDate, 0, "f2.parquet")};
    return c;
  };
  store_.before_root = [&] { ASSERT_TRUE(b->Commit(compaction(b.get(), "by-b")).ok()); };
  Status st = a->Commit(compaction(a.get(), "by-a"));
  EXPECT_TRUE(IsCommitConflict(st)) << st.ToString();
  EXPECT_EQ(CommittedKeys(), (std::set<std::string>{DataFileKey(kDate, 0, "by-b.parquet")}));
  EXPECT_EQ(LoadLatestRoot(&store_)->days.at(kDate).rows, 9);
}

TEST_F(SharedLakeTest, AWritersCommitInterruptedAfterItsRootIsRolledForwardByAnother) {
  auto dying = Writer([](std::string_view step) {
    return step == "root" ? Status::Aborted("killed after the commit point") : Status::OK();
  });
  Status st = dying->Commit(Data(dying.get(), "orphaned", 1, 0, 4));
  ASSERT_EQ(st.code(), Status::Code::kAborted);
  LakeCommit mine = Data(dying.get(), "in-flight", 0, 0, 3);  // staged, never committed
  // Another writer, started meanwhile, commits: it publishes the dead
  // writer's file, keeps the other's young upload and never names it.
  auto other = Writer();
  ASSERT_TRUE(other->Commit(Data(other.get(), "next", 0, 0, 2)).ok());
  EXPECT_TRUE(store_.Exists(DataFileKey(kDate, 0, "orphaned.parquet")));
  EXPECT_TRUE(store_.Exists(mine.add[0].staged_key));
  EXPECT_EQ(CommittedKeys().size(), 2u);
  // An hour later a recovering writer drops the abandoned upload.
  clock_.Advance(3600 * 1000 + 1);
  auto later = Writer();
  EXPECT_FALSE(store_.Exists(mine.add[0].staged_key));
  EXPECT_TRUE(store_.List(kStagingPrefix)->empty());
}

}  // namespace
}  // namespace viewpipe
