#include "features/lookup_cache.h"

#include <gtest/gtest.h>

#include <atomic>
#include <random>
#include <thread>

#include "common/scoped_temp_dir.h"
#include "features/feature_fold.h"
#include "features/feature_routes.h"
#include "features/feature_vector.h"
#include "features/features_test_util.h"
#include "features/invalidating_feature_store.h"
#include "features/rocksdb_feature_store.h"

namespace viewpipe::features {
namespace {

using testing::kDay;
using testing::kT0;

std::string Json(const ProfileState& s, int64_t as_of) {
  std::string out;
  AppendProfileJson("p", EvaluateProfile(s, as_of), &out);
  return out;
}

// The answer without its as_of member's value (what must not change).
std::string WithoutAsOf(const ProfileState& s, int64_t as_of) {
  std::string out = Json(s, as_of);
  const std::string v = std::to_string(as_of);
  out.erase(out.find("\"as_of\":" + v) + 8, v.size());
  return out;
}

// A profile of random events over 40 days around kT0 (some after the
// evaluation times below), with completions.
ProfileState RandomProfile(std::mt19937_64& rng, testing::EventFactory& f, FeatureFold& fold) {
  ProfileState p;
  const char* titles[] = {"t1", "t2", "t3", "t9"};
  const EventType types[] = {EventType::kAttempt, EventType::kHeartbeat, EventType::kStop};
  std::uniform_int_distribution<int64_t> ts(kT0 - 35 * kDay, kT0 + 3 * kDay);
  const int n = static_cast<int>(rng() % 40);
  for (int i = 0; i < n; ++i) {
    EventView e = f.Make(types[rng() % 3], ts(rng), "p", titles[rng() % 4]);
    if (rng() % 3 == 0) e.position_ms = static_cast<int64_t>(rng() % 8'000'000);
    fold.ApplyToProfile(e, &p);
  }
  p.updated_at_ms = 5;
  return p;
}

TEST(ProfileValidUntilTest, FeaturesHoldUntilItAndAnEventCountsFromIt) {
  const CatalogTable catalog = testing::TestCatalog();
  FeatureFold fold(&catalog);
  testing::EventFactory f;
  std::mt19937_64 rng(11);
  int tight = 0;
  for (int round = 0; round < 400; ++round) {
    const ProfileState p = RandomProfile(rng, f, fold);
    const int64_t as_of = kT0 - 3 * kDay + static_cast<int64_t>(rng() % (6 * kDay));
    const int64_t until = ProfileValidUntil(p, as_of);
    const int64_t midnight = (as_of / kDay + 1) * kDay;
    ASSERT_GT(until, as_of);
    ASSERT_LE(until, midnight);
    const std::string at_as_of = WithoutAsOf(p, as_of);
    for (int64_t t : {as_of + 1, until - 1, as_of + (until - as_of) / 2,
                      as_of + static_cast<int64_t>(rng() % static_cast<uint64_t>(until - as_of))}) {
      ASSERT_EQ(WithoutAsOf(p, t), at_as_of) << round << " t=" << t << " until=" << until;
    }
    if (until < midnight) {  // an event time: from it on, that event counts
      ASSERT_NE(WithoutAsOf(p, until), at_as_of) << round;
      ++tight;
    }
  }
  EXPECT_GT(tight, 20);  // the random profiles did reach the event case
}

TEST(LookupCacheTest, AnswersInItsRangeWithTheTimeSplicedIn) {
  LookupCache cache;
  const ProfileState p;
  std::string out;
  EXPECT_FALSE(cache.Find("p", kT0, &out));
  const uint64_t ticket = cache.Ticket("p");
  cache.Insert("p", ticket, kT0, kT0 + 500, Json(p, kT0));
  for (int64_t t : {kT0, kT0 + 1, kT0 + 499}) {
    out = "x";
    ASSERT_TRUE(cache.Find("p", t, &out)) << t;
    EXPECT_EQ(out, "x" + Json(p, t));  // appended, byte for byte a fresh rendering
  }
  EXPECT_FALSE(cache.Find("p", kT0 - 1, &out));
  EXPECT_FALSE(cache.Find("p", kT0 + 500, &out));
  EXPECT_FALSE(cache.Find("q", kT0, &out));
}

TEST(LookupCacheTest, InvalidateDropsAndRefusesAnswersReadBeforeIt) {
  LookupCache cache;
  const ProfileState p;
  std::string out;
  cache.Insert("p", cache.Ticket("p"), kT0, kT0 + 500, Json(p, kT0));
  FeatureBatch b;
  b.puts.push_back(MakePut(FeatureKind::kProfile, "p", "new"));
  b.puts.push_back(MakePut(FeatureKind::kTitle, "t", "x"));
  cache.BeginWrite(b);
  EXPECT_FALSE(cache.Find("p", kT0, &out));
  // While the write is under way, nothing of its shard is kept.
  cache.Insert("p", cache.Ticket("p"), kT0, kT0 + 500, Json(p, kT0));
  EXPECT_FALSE(cache.Find("p", kT0, &out));
  cache.EndWrite(b);
  EXPECT_FALSE(cache.Find("p", kT0, &out));
  // A miss that read the store before that write: its answer is refused.
  const uint64_t before = cache.Ticket("q");
  FeatureBatch bq;
  bq.deletes.push_back({FeatureKind::kProfile, "q"});
  cache.BeginWrite(bq);
  cache.EndWrite(bq);
  cache.Insert("q", before, kT0, kT0 + 500, Json(p, kT0));
  EXPECT_FALSE(cache.Find("q", kT0, &out));
  cache.Insert("q", cache.Ticket("q"), kT0, kT0 + 500, Json(p, kT0));
  EXPECT_TRUE(cache.Find("q", kT0, &out));
  // Title and session keys do not touch profile entries.
  FeatureBatch other;
  other.puts.push_back(MakePut(FeatureKind::kTitle, "q", "x"));
  other.puts.push_back(MakePut(FeatureKind::kSession, "q", "x"));
  cache.BeginWrite(other);
  EXPECT_TRUE(cache.Find("q", kT0, &out));
  cache.EndWrite(other);
  EXPECT_TRUE(cache.Find("q", kT0, &out));
}

TEST(LookupCacheTest, StaysWithinItsBytes) {
  LookupCache cache(64 * 4096);  // 4 KB per shard
  const ProfileState p;
  for (int i = 0; i < 5000; ++i) {
    const std::string id = "p" + std::to_string(i);
    cache.Insert(id, cache.Ticket(id), kT0, kT0 + 10, Json(p, kT0));
  }
  const size_t body = Json(p, kT0).size();
  EXPECT_GT(cache.entries(), 0u);
  EXPECT_LE(cache.entries() * body, 64u * 4096);
}

class CachedRoutesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = RocksDbFeatureStore::Open(dir_.path());
    ASSERT_TRUE(s.ok());
    rocks_ = std::move(s).value();
    store_ = std::make_unique<InvalidatingFeatureStore>(rocks_.get(), &cache_);
  }
  Status Put(const std::string& id, const ProfileState& p) {
    FeatureBatch b;
    b.puts.push_back(MakePut(FeatureKind::kProfile, id, EncodeProfileState(p)));
    return store_->Write(b);
  }
  ScopedTempDir dir_;
  std::unique_ptr<RocksDbFeatureStore> rocks_;
  LookupCache cache_;
  std::unique_ptr<InvalidatingFeatureStore> store_;
  ManualClock clock_{kT0};
};

// Random writes and lookups at moving times: the cached routes answer byte
// for byte what routes without a cache answer from the same store.
TEST_F(CachedRoutesTest, AnswersEqualUncachedAnswersThroughWritesAndTime) {
  FeatureRoutes cached(store_.get(), &clock_, nullptr, kDefaultMaxBatch, &cache_);
  FeatureRoutes plain(rocks_.get(), &clock_, nullptr);
  const CatalogTable catalog = testing::TestCatalog();
  FeatureFold fold(&catalog);
  testing::EventFactory f;
  std::mt19937_64 rng(5);
  std::map<std::string, ProfileState> states;
  int64_t now = kT0 - 2 * kDay;
  for (int step = 0; step < 3000; ++step) {
    const std::string id = "p" + std::to_string(rng() % 8);
    if (rng() % 4 == 0) {
      ProfileState& p = states[id];
      const int64_t ts = now - kDay + static_cast<int64_t>(rng() % (2 * kDay));
      fold.ApplyToProfile(f.Make(EventType::kAttempt, ts, id, rng() % 2 ? "t1" : "t2"), &p);
      ASSERT_TRUE(Put(id, p).ok());
    }
    now += static_cast<int64_t>(rng() % 3 == 0 ? rng() % (kDay / 8) : rng() % 50);
    auto a = cached.Lookup(FeatureKind::kProfile, id, now);
    auto b = plain.Lookup(FeatureKind::kProfile, id, now);
    ASSERT_EQ(a.ok(), b.ok()) << step;
    if (a.ok()) {
      ASSERT_EQ(*a, *b) << step << " " << id;
    }
  }
  EXPECT_GT(cache_.entries(), 0u);
}

// A writer bumps a profile's sessions while readers look it up: once a
// Write returns every lookup shows it, and no reader goes back in time.
TEST_F(CachedRoutesTest, AWriteIsSeenOnceItReturnsAndNeverUnseen) {
  FeatureRoutes routes(store_.get(), &clock_, nullptr, kDefaultMaxBatch, &cache_);
  auto sessions = [&](int64_t at) {
    auto r = routes.Lookup(FeatureKind::kProfile, "p", at);
    if (!r.ok()) return int64_t{-1};
    const size_t k = r->find("\"sessions_7d\":") + 14;
    return static_cast<int64_t>(std::stoll(r->substr(k)));
  };
  ProfileState p;
  p.days.push_back(ProfileDay{static_cast<int32_t>(kT0 / kDay), 0, {}, {}});
  ASSERT_TRUE(Put("p", p).ok());
  std::atomic<bool> done{false};
  std::atomic<int> regressions{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 3; ++r) {
    readers.emplace_back([&] {
      int64_t seen = 0;
      while (!done.load()) {
        const int64_t s = sessions(kT0 + 1000);
        if (s < seen) ++regressions;
        seen = std::max(seen, s);
      }
    });
  }
  int stale = 0;
  for (int v = 1; v <= 2000; ++v) {
    p.days[0].attempts = v;
    ASSERT_TRUE(Put("p", p).ok());
    if (sessions(kT0 + 1000) != v) ++stale;
  }
  done = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ(stale, 0);
  EXPECT_EQ(regressions.load(), 0);
}

}  // namespace
}  // namespace viewpipe::features
