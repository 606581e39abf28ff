// Several features processes sharing the partitions of `viewing` on one
// real redis-server (redis_test_server.h): partial states per partition,
// hand-overs with a late write of the old owner (fenced: refused whole) and
// a new owner that lost the race (fenced, restarted), a dead owner's
// partitions taken over; the merged lookups (FeatureRoutes with partitions)
// equal one process folding every record into the RocksDB store.

#include <gtest/gtest.h>

#include <array>
#include <deque>
#include <fstream>
#include <random>
#include <regex>
#include <set>

#include "common/scoped_temp_dir.h"
#include "event/codec.h"
#include "features/feature_processor.h"
#include "features/feature_routes.h"
#include "features/features_test_util.h"
#include "features/redis_feature_store.h"
#include "features/redis_test_server.h"
#include "features/rocksdb_feature_store.h"

namespace viewpipe::features {
namespace {

using testing::kDay;
using testing::kT0;

constexpr int kParts = 4;
const int64_t kNow = kT0 + 10 * kDay;

class FeatureGroupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (RedisTestServer::Url().empty()) {
      GTEST_SKIP() << "\n\n*** FEATURE GROUP CASES SKIPPED: " << RedisTestServer::Reason()
                   << " ***\n";
    }
    catalog_ = dir_.path() + "/catalog.csv";
    std::ofstream(catalog_) << "title_id,genre,kind,duration_s\nt1,drama,film,3600\n"
                               "t2,comedy,series,1800\nt3,sports,live,7200\n";
    MakeRecords();
  }

  void MakeRecords() {
    static const EventType kTypes[] = {EventType::kAttempt, EventType::kPlayStart,
                                       EventType::kHeartbeat, EventType::kHeartbeat,
                                       EventType::kStop, EventType::kError};
    std::mt19937_64 rng(17);
    for (int i = 0; i < 4000; ++i) {
      const bool recent = rng() % 2 == 0;
      const int64_t ts = kNow - static_cast<int64_t>(rng() % (recent ? 600'000 : 3 * kDay));
      const int title = static_cast<int>(rng() % 30);
      EventView e = f_.Make(kTypes[rng() % 6], ts, "p" + std::to_string(rng() % 6),
                            (title < 3 ? "t" : "x") + std::to_string(title < 3 ? title + 1 : title),
                            "s" + std::to_string(rng() % 250),
                            static_cast<DeviceType>(1 + rng() % kDeviceSlots));
      if (rng() % 2 == 0) e.position_ms = static_cast<int64_t>(rng() % 7'500'000);
      if (e.type == EventType::kError) e.fatal = rng() % 2 == 0;
      profiles_.insert(std::string(e.profile_id));
      titles_.insert(std::string(e.title_id));
      const PartitionId p = HashPartition(e.session_id, kParts);
      std::string& value = values_.emplace_back();
      EncodeEvent(e, &value);
      auto& log = log_[static_cast<size_t>(p)];
      log.push_back({p, static_cast<Offset>(log.size()), 0, "", value});
    }
  }

  std::unique_ptr<RedisFeatureStore> Redis() {
    RedisStoreOptions o;
    o.url = RedisTestServer::Url();
    o.key_prefix = "vp-group:" + dir_.path() + ":";
    auto s = RedisFeatureStore::Open(o);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return std::move(s).value();
  }
  std::unique_ptr<FeatureProcessor> Member(FeatureStore* store) {
    return std::make_unique<FeatureProcessor>(store, catalog_, &clock_, nullptr, true);
  }
  // Offsets [from, to) of partition p (to clamped), in batches of 97.
  Status Feed(FeatureProcessor* proc, PartitionId p, size_t from, size_t to) {
    const auto& log = log_[static_cast<size_t>(p)];
    to = std::min(to, log.size());
    for (size_t i = from; i < to; i += 97) {
      std::span<const ConsumedRecord> batch(log.data() + i, std::min<size_t>(97, to - i));
      VP_RETURN_IF_ERROR(proc->Process(batch));
    }
    return Status::OK();
  }
  size_t Size(PartitionId p) const { return log_[static_cast<size_t>(p)].size(); }

  // Every vector of the ids of kind as one batch answer, the trending score
  // rounded (a merge sums rescaled scores: equal up to rounding).
  std::string All(FeatureRoutes* routes, FeatureKind kind) {
    std::string body = "{\"ids\":[";
    for (const auto& id : kind == FeatureKind::kProfile ? profiles_ : titles_) {
      body += (body.back() == '[' ? "\"" : ",\"") + id + "\"";
    }
    auto r = routes->LookupBatch(kind, body + "]}", kNow);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    std::string out;
    const std::regex score("\"trending_score\":([0-9.e+-]+)");
    std::string text = r.ok() ? *r : "";
    std::smatch m;
    while (std::regex_search(text, m, score)) {
      char b[32];
      std::snprintf(b, sizeof(b), "%.9g", std::stod(m[1]));
      out += m.prefix().str() + "\"trending_score\":" + b;
      text = m.suffix().str();
    }
    return out + text;
  }

  ScopedTempDir dir_;
  std::string catalog_;
  testing::EventFactory f_;
  std::deque<std::string> values_;  // the records point into them
  std::array<std::vector<ConsumedRecord>, kParts> log_;
  std::set<std::string> profiles_, titles_;
  ManualClock clock_{kNow};
};

TEST_F(FeatureGroupTest, HandOversWithLateWritesEqualOneProcess) {
  auto store_a = Redis(), store_b = Redis(), store_read = Redis();
  auto a = Member(store_a.get());
  ASSERT_TRUE(a->Restore().ok());
  auto from = a->Reassign({}, {0, 1, 2, 3});
  ASSERT_TRUE(from.ok());  // a new store: every partition from the start
  EXPECT_EQ(*from, (std::map<PartitionId, Offset>{{0, 0}, {1, 0}, {2, 0}, {3, 0}}));
  for (PartitionId p = 0; p < kParts; ++p) ASSERT_TRUE(Feed(a.get(), p, 0, Size(p) / 3).ok());

  // b joins and gets partitions 2 and 3; a has not noticed yet.
  auto b = Member(store_b.get());
  ASSERT_TRUE(b->Restore().ok());
  from = b->Reassign({}, {2, 3});
  ASSERT_TRUE(from.ok());
  EXPECT_EQ(*from, (std::map<PartitionId, Offset>{{2, Size(2) / 3}, {3, Size(3) / 3}}));
  // Partition 2: b writes first, a's late batch is refused whole.
  ASSERT_TRUE(Feed(b.get(), 2, Size(2) / 3, Size(2) / 2).ok());
  Status late = Feed(a.get(), 2, Size(2) / 3, Size(2) / 2);
  EXPECT_TRUE(IsFenced(late)) << late.ToString();
  EXPECT_EQ(store_read->Offsets()->at(2), static_cast<Offset>(Size(2) / 2));
  // Partition 3: a's late batch lands first (it read on from the right
  // offset), so b's first batch is the one refused; b restarts.
  ASSERT_TRUE(Feed(a.get(), 3, Size(3) / 3, Size(3) / 2).ok());
  Status lost = Feed(b.get(), 3, Size(3) / 3, Size(3) / 2);
  EXPECT_TRUE(IsFenced(lost)) << lost.ToString();
  b = Member(store_b.get());  // the supervisor's restart
  ASSERT_TRUE(b->Restore().ok());
  from = b->Reassign({}, {2, 3});
  ASSERT_TRUE(from.ok());
  EXPECT_EQ(*from, (std::map<PartitionId, Offset>{{2, Size(2) / 2}, {3, Size(3) / 2}}));
  ASSERT_TRUE(a->Reassign({2, 3}, {}).ok());  // a notices

  for (PartitionId p : {0, 1}) ASSERT_TRUE(Feed(a.get(), p, Size(p) / 3, 2 * Size(p) / 3).ok());
  for (PartitionId p : {2, 3}) ASSERT_TRUE(Feed(b.get(), p, from->at(p), Size(p)).ok());
  // a dies (kill -9: nothing more of it); b takes its partitions.
  a.reset();
  from = b->Reassign({}, {0, 1});
  ASSERT_TRUE(from.ok());
  for (PartitionId p : {0, 1}) {
    EXPECT_EQ(from->at(p), static_cast<Offset>(2 * Size(p) / 3));
    ASSERT_TRUE(Feed(b.get(), p, from->at(p), Size(p)).ok());
  }

  // One process, every record once, the RocksDB store (whole states).
  auto rocks = RocksDbFeatureStore::Open(dir_.path() + "/one");
  ASSERT_TRUE(rocks.ok());
  FeatureProcessor one(rocks->get(), catalog_, &clock_, nullptr);
  ASSERT_TRUE(one.Restore().ok());
  for (PartitionId p = 0; p < kParts; ++p) ASSERT_TRUE(Feed(&one, p, 0, Size(p)).ok());

  FeatureRoutes merged(store_read.get(), &clock_, nullptr, 1000, nullptr, kParts);
  FeatureRoutes whole(rocks->get(), &clock_, nullptr, 1000);
  for (FeatureKind kind : {FeatureKind::kProfile, FeatureKind::kTitle}) {
    const std::string want = All(&whole, kind);
    EXPECT_NE(want.find("\"found\":" + std::to_string(kind == FeatureKind::kProfile
                                                         ? profiles_.size()
                                                         : titles_.size())),
              std::string::npos)
        << want.substr(0, 300);
    EXPECT_EQ(All(&merged, kind), want);
  }
  for (const std::string& id : profiles_) {
    auto m = merged.Lookup(FeatureKind::kProfile, id, kNow);
    auto w = whole.Lookup(FeatureKind::kProfile, id, kNow);
    ASSERT_TRUE(m.ok() && w.ok()) << m.status().ToString() << " " << w.status().ToString();
    EXPECT_EQ(*m, *w);
  }
  EXPECT_TRUE(merged.Lookup(FeatureKind::kTitle, "never", kNow).status().IsNotFound());
  auto offsets = store_read->Offsets();
  for (PartitionId p = 0; p < kParts; ++p) EXPECT_EQ(offsets->at(p), static_cast<Offset>(Size(p)));
}

// A record of a partition the processor does not own is refused (the runner
// never hands one over; this guards the contract).
TEST_F(FeatureGroupTest, ARecordOfAnUnownedPartitionIsRefused) {
  auto store = Redis();
  auto a = Member(store.get());
  ASSERT_TRUE(a->Restore().ok());
  ASSERT_TRUE(a->Reassign({}, {0}).ok());
  EXPECT_FALSE(Feed(a.get(), 1, 0, 5).ok());
  EXPECT_TRUE(store->Offsets()->empty());
}

}  // namespace
}  // namespace viewpipe::features
