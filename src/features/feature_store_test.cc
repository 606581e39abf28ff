// The FeatureStore conformance suite: every implementation (RocksDB, and
// Redis on a real redis-server: redis_test_server.h) must pass all of it.

#include "features/feature_store.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <functional>
#include <memory>
#include <thread>

#include "common/scoped_temp_dir.h"
#include "features/redis_feature_store.h"
#include "features/redis_test_server.h"
#include "features/rocksdb_feature_store.h"

namespace viewpipe::features {
namespace {

struct Implementation {
  std::string name;
  // Opens the store kept at dir (a fresh dir: a new store; the same dir: reopen).
  std::function<Result<std::unique_ptr<FeatureStore>>(const std::string& dir)> open;
  // Why the implementation cannot run here ("" when it can).
  std::function<std::string()> unavailable = [] { return std::string(); };
};

const Implementation kImplementations[] = {
    {"rocksdb",
     [](const std::string& dir) -> Result<std::unique_ptr<FeatureStore>> {
       auto s = RocksDbFeatureStore::Open(dir);
       if (!s.ok()) return s.status();
       return std::unique_ptr<FeatureStore>(std::move(s).value());
     }},
    {"redis",
     [](const std::string& dir) -> Result<std::unique_ptr<FeatureStore>> {
       RedisStoreOptions o;
       o.url = RedisTestServer::Url();
       o.key_prefix = "vp-test:" + dir + ":";  // one keyspace per test (dir is fresh)
       auto s = RedisFeatureStore::Open(o);
       if (!s.ok()) return s.status();
       return std::unique_ptr<FeatureStore>(std::move(s).value());
     },
     [] { return RedisTestServer::Url().empty() ? RedisTestServer::Reason() : std::string(); }},
};

void PrintTo(const Implementation& i, std::ostream* os) { *os << i.name; }

FeatureKey P(const std::string& id) { return {FeatureKind::kProfile, id}; }
FeatureKey T(const std::string& id) { return {FeatureKind::kTitle, id}; }

FeatureBatch Batch(std::vector<std::pair<FeatureKey, std::string>> puts,
                   std::map<PartitionId, Offset> offsets) {
  FeatureBatch b;
  for (auto& [k, v] : puts) b.puts.push_back(MakePut(k.kind, k.id, v));
  b.offsets = std::move(offsets);
  return b;
}

class FeatureStoreConformance : public ::testing::TestWithParam<Implementation> {
 protected:
  void SetUp() override {
    if (const std::string why = GetParam().unavailable(); !why.empty()) {
      GTEST_SKIP() << "\n\n*** " << GetParam().name << " CONFORMANCE CASES SKIPPED: " << why
                   << " ***\n";
    }
    Reopen();
  }
  void Reopen() {
    store_.reset();
    auto s = GetParam().open(dir_.path());
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
  }
  std::optional<std::string> Get(const FeatureKey& k) {
    auto v = store_->Get(k);
    EXPECT_TRUE(v.ok()) << v.status().ToString();
    return v.ok() ? *v : std::nullopt;
  }

  ScopedTempDir dir_;
  std::unique_ptr<FeatureStore> store_;
};

TEST_P(FeatureStoreConformance, NewStoreIsEmpty) {
  EXPECT_FALSE(Get(P("a")).has_value());
  auto offsets = store_->Offsets();
  ASSERT_TRUE(offsets.ok());
  EXPECT_TRUE(offsets->empty());
}

TEST_P(FeatureStoreConformance, ProfilesAndTitlesAreSeparateKeyspaces) {
  ASSERT_TRUE(store_->Write(Batch({{P("x"), "profile"}, {T("x"), "title"}}, {})).ok());
  EXPECT_EQ(Get(P("x")), "profile");
  EXPECT_EQ(Get(T("x")), "title");
  EXPECT_FALSE(Get(P("o/0")).has_value());  // ids never collide with the offsets
}

TEST_P(FeatureStoreConformance, LaterWritesReplaceValues) {
  ASSERT_TRUE(store_->Write(Batch({{P("a"), "1"}}, {})).ok());
  ASSERT_TRUE(store_->Write(Batch({{P("a"), std::string("2\0x", 3)}}, {})).ok());
  EXPECT_EQ(Get(P("a")), std::string("2\0x", 3));
}

TEST_P(FeatureStoreConformance, MultiGetAnswersInOrderWithMisses) {
  ASSERT_TRUE(store_->Write(Batch({{P("a"), "A"}, {P("c"), "C"}, {T("b"), "B"}}, {})).ok());
  std::vector<FeatureKey> keys = {P("c"), P("b"), T("b"), P("a"), P("c")};
  auto v = store_->MultiGet(keys);
  ASSERT_TRUE(v.ok());
  ASSERT_EQ(v->size(), 5u);
  EXPECT_EQ((*v)[0], "C");
  EXPECT_FALSE((*v)[1].has_value());
  EXPECT_EQ((*v)[2], "B");
  EXPECT_EQ((*v)[3], "A");
  EXPECT_EQ((*v)[4], "C");
  auto none = store_->MultiGet({});
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST_P(FeatureStoreConformance, DeletesAndScanByKind) {
  FeatureBatch b =
      Batch({{P("a"), "1"}, {P("b"), "2"}, {T("a"), "3"}, {{FeatureKind::kSession, "s1"}, "4"}},
            {{0, 1}});
  ASSERT_TRUE(store_->Write(b).ok());
  FeatureBatch d;
  d.deletes.push_back(P("b"));
  d.deletes.push_back(P("never-there"));
  ASSERT_TRUE(store_->Write(d).ok());
  EXPECT_FALSE(Get(P("b")).has_value());
  std::map<std::string, std::string> seen;
  ASSERT_TRUE(store_
                  ->Scan(FeatureKind::kProfile,
                         [&](std::string_view id, std::string_view v) {
                           seen[std::string(id)] = std::string(v);
                           return true;
                         })
                  .ok());
  EXPECT_EQ(seen, (std::map<std::string, std::string>{{"a", "1"}}));
  seen.clear();
  ASSERT_TRUE(store_
                  ->Scan(FeatureKind::kSession,
                         [&](std::string_view id, std::string_view v) {
                           seen[std::string(id)] = std::string(v);
                           return true;
                         })
                  .ok());
  EXPECT_EQ(seen, (std::map<std::string, std::string>{{"s1", "4"}}));
  EXPECT_EQ(store_->Offsets()->at(0), 1);  // a batch without offsets keeps them
}

TEST_P(FeatureStoreConformance, OffsetsMergeByPartitionAndSurviveReopen) {
  ASSERT_TRUE(store_->Write(Batch({{P("a"), "1"}}, {{0, 10}, {3, 7}})).ok());
  ASSERT_TRUE(store_->Write(Batch({}, {{0, 12}, {1, 1LL << 40}})).ok());
  Reopen();
  auto offsets = store_->Offsets();
  ASSERT_TRUE(offsets.ok());
  EXPECT_EQ(*offsets, (std::map<PartitionId, Offset>{{0, 12}, {1, 1LL << 40}, {3, 7}}));
  EXPECT_EQ(Get(P("a")), "1");
}

TEST_P(FeatureStoreConformance, ReadersSeeWholeValuesWhileAWriterWrites) {
  std::atomic<bool> stop{false};
  std::atomic<int> bad{0};
  std::thread reader([&] {
    while (!stop) {
      auto v = store_->MultiGet(std::vector<FeatureKey>{P("k"), T("k")});
      if (!v.ok()) ++bad;
      for (const auto& x : *v) {
        if (x && x->size() != 1000) ++bad;  // torn value
      }
    }
  });
  for (int i = 0; i < 300; ++i) {
    std::string value(1000, static_cast<char>('a' + i % 26));
    ASSERT_TRUE(store_->Write(Batch({{P("k"), value}, {T("k"), value}}, {{0, i}})).ok());
  }
  stop = true;
  reader.join();
  EXPECT_EQ(bad.load(), 0);
}

// A process killed with SIGKILL in the middle of writing: every batch is
// whole after reopening, and the values match the stored offsets exactly.
TEST_P(FeatureStoreConformance, KillNineKeepsStatesAndOffsetsTogether) {
  store_.reset();
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto s = GetParam().open(dir_.path());
    if (!s.ok()) _exit(3);
    for (int64_t i = 1;; ++i) {
      const std::string v = std::to_string(i);
      if (!(*s)->Write(Batch({{P("a"), v}, {T("b"), v}, {P("c" + v), v}}, {{0, i}, {1, 2 * i}}))
               .ok()) {
        _exit(4);
      }
    }
  }
  usleep(300 * 1000);
  kill(child, SIGKILL);
  int wstatus = 0;
  waitpid(child, &wstatus, 0);
  ASSERT_TRUE(WIFSIGNALED(wstatus)) << "the writer exited early: " << WEXITSTATUS(wstatus);
  Reopen();
  auto offsets = store_->Offsets();
  ASSERT_TRUE(offsets.ok());
  ASSERT_EQ(offsets->size(), 2u);
  const Offset n = offsets->at(0);
  ASSERT_GT(n, 0);
  EXPECT_EQ(offsets->at(1), 2 * n);
  EXPECT_EQ(Get(P("a")), std::to_string(n));
  EXPECT_EQ(Get(T("b")), std::to_string(n));
  EXPECT_TRUE(Get(P("c" + std::to_string(n))).has_value());
  EXPECT_FALSE(Get(P("c" + std::to_string(n + 1))).has_value());
}

TEST_P(FeatureStoreConformance, PartialStatesAreKeysOfTheirOwn) {
  const FeatureKey p0{FeatureKind::kProfile, "a", 0}, p3{FeatureKind::kProfile, "a", 3};
  const FeatureKey t0{FeatureKind::kTitle, "a", 0};
  ASSERT_TRUE(store_->Write(Batch({{P("a"), "whole"}}, {})).ok());
  FeatureBatch b;
  b.puts = {{p0, "p0"}, {p3, "p3"}, {t0, "t0"}};
  ASSERT_TRUE(store_->Write(b).ok());
  EXPECT_EQ(Get(P("a")), "whole");
  EXPECT_EQ(Get(p0), "p0");
  EXPECT_EQ(Get(p3), "p3");
  EXPECT_EQ(Get(t0), "t0");
  EXPECT_FALSE(Get(FeatureKey{FeatureKind::kProfile, "a", 1}).has_value());
  EXPECT_FALSE(Get(T("a")).has_value());
  int scanned = 0;  // Scan(kind) sees the whole states only
  ASSERT_TRUE(store_->Scan(FeatureKind::kProfile, [&](std::string_view, std::string_view) {
    ++scanned;
    return true;
  }).ok());
  EXPECT_EQ(scanned, 1);
}

// The fencing of processes sharing a store: a batch applies only while each
// of its partitions' stored offsets is what the writer expects, else none of
// it (states, deletes, offsets) does.
TEST_P(FeatureStoreConformance, AFencedBatchAppliesOnlyAtTheExpectedOffsets) {
  FeatureBatch first = Batch({{P("a"), "1"}, {P("gone"), "x"}}, {{0, 5}});
  first.expected_offsets = {{0, std::nullopt}};  // a partition nobody wrote yet
  ASSERT_TRUE(store_->Write(first).ok()) << store_->Write(first).ToString();
  FeatureBatch late = Batch({{P("a"), "late"}, {P("new"), "n"}}, {{0, 9}, {1, 4}});
  late.deletes = {P("gone")};
  late.expected_offsets = {{0, std::nullopt}, {1, std::nullopt}};  // partition 0 moved on
  Status st = store_->Write(late);
  EXPECT_TRUE(IsFenced(st)) << st.ToString();
  EXPECT_NE(st.message().find("partition 0"), std::string::npos) << st.ToString();
  late.expected_offsets = {{0, 5}, {1, 2}};  // partition 1 is not at 2
  st = store_->Write(late);
  EXPECT_TRUE(IsFenced(st)) << st.ToString();
  EXPECT_NE(st.message().find("partition 1"), std::string::npos) << st.ToString();
  EXPECT_EQ(Get(P("a")), "1");  // nothing of the refused batches
  EXPECT_FALSE(Get(P("new")).has_value());
  EXPECT_EQ(Get(P("gone")), "x");
  EXPECT_EQ(store_->Offsets().value(), (std::map<PartitionId, Offset>{{0, 5}}));
  late.expected_offsets = {{0, 5}, {1, std::nullopt}};
  ASSERT_TRUE(store_->Write(late).ok());
  EXPECT_EQ(Get(P("a")), "late");
  EXPECT_EQ(Get(P("new")), "n");
  EXPECT_FALSE(Get(P("gone")).has_value());
  EXPECT_EQ(store_->Offsets().value(), (std::map<PartitionId, Offset>{{0, 9}, {1, 4}}));
  late.expected_offsets = {{0, 5}};  // the same batch again: stale now
  EXPECT_TRUE(IsFenced(store_->Write(late)));
}

// A big fenced batch (more values than one Lua unpack takes) is whole.
TEST_P(FeatureStoreConformance, ALargeFencedBatchIsWhole) {
  FeatureBatch b;
  for (int i = 0; i < 5000; ++i) {
    b.puts.push_back(MakePut(FeatureKind::kSession, "s" + std::to_string(i), std::to_string(i)));
  }
  for (int i = 0; i < 1200; ++i) b.deletes.push_back(P("d" + std::to_string(i)));
  b.offsets = {{2, 77}};
  b.expected_offsets = {{2, std::nullopt}};
  ASSERT_TRUE(store_->Write(b).ok());
  int n = 0;
  ASSERT_TRUE(store_->Scan(FeatureKind::kSession, [&](std::string_view, std::string_view) {
    ++n;
    return true;
  }).ok());
  EXPECT_EQ(n, 5000);
  EXPECT_EQ(Get({FeatureKind::kSession, "s4999"}), "4999");
  EXPECT_EQ(store_->Offsets()->at(2), 77);
}

INSTANTIATE_TEST_SUITE_P(AllStores, FeatureStoreConformance, ::testing::ValuesIn(kImplementations),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace viewpipe::features
