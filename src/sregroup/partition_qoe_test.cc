// The sre group's per-partition state merges to the one-process state:
// random sessions (out of order, silent ones, stalls, pauses, failures
// before and after the start) split by HashPartition(session_id) into
// PartitionQoe shards give, summed (SreShards' partials, SumCounts), the
// same 10 s / 1 min / 5 min windows as one SreState over all events, for
// every dimension and group, and the same slices as one unsplit
// PartitionQoe; a shard restored from its checkpoint mid-stream ends equal.
#include "sregroup/partition_qoe.h"

#include <gtest/gtest.h>

#include <deque>
#include <random>

#include "common/scoped_temp_dir.h"
#include "sre/sre_state.h"
#include "sre/sre_test_util.h"
#include "sregroup/sre_shard_checkpoints.h"
#include "sregroup/sre_shards.h"
#include "lake/local_object_store.h"
#include "sregroup/merged_qoe.h"

namespace viewpipe::sre {
namespace {

using testing::Ev;

constexpr int64_t kT0 = 1700000000000;

// Random sessions over ~12 minutes of event time, by received_at.
class RandomTraffic {
 public:
  explicit RandomTraffic(uint32_t seed) : rng_(seed) {
    const char* cdns[] = {"cdn-a", "cdn-b", "cdn-c"};
    const char* countries[] = {"DE", "FR", "US", "BR"};
    for (int i = 0; i < 1500; ++i) {
      const std::string& s = ids_.emplace_back("s" + std::to_string(seed) + "-" + std::to_string(i));
      const char* cdn = cdns[rng_() % 3];
      const char* country = countries[rng_() % 4];
      int64_t t = kT0 + static_cast<int64_t>(rng_() % 600000);
      auto add = [&](EventType type, int64_t ts) -> Ev& {
        Ev& e = events_.emplace_back(type, ts, s.c_str(), cdn, country);
        e.v.received_at_ms = ts + static_cast<int64_t>(rng_() % 9000);
        return e;
      };
      add(EventType::kAttempt, t);
      const int fate = static_cast<int>(rng_() % 10);
      if (fate == 0) {
        add(EventType::kError, t + 500 + rng_() % 3000).Fatal(true);
        continue;
      }
      if (fate == 1) {
        add(EventType::kStop, t + 800 + rng_() % 2000);
        continue;
      }
      if (fate == 2) continue;  // silent: ends by the session timeout (EBVS)
      t += 300 + rng_() % 4000;
      add(EventType::kPlayStart, t).Startup(static_cast<int32_t>(rng_() % 5000)).Bitrate(3000);
      const int beats = 1 + static_cast<int>(rng_() % 12);
      for (int b = 0; b < beats; ++b) {
        t += 2000 + rng_() % 10000;
        add(EventType::kHeartbeat, t).Bitrate(static_cast<int32_t>(1000 + rng_() % 5000));
        const int what = static_cast<int>(rng_() % 12);
        if (what == 0) {
          const int32_t stall = static_cast<int32_t>(200 + rng_() % 6000);
          add(EventType::kRebufferStart, t + 100);
          add(EventType::kRebufferEnd, t + 100 + stall).Rebuffer(stall);
          t += 100 + stall;
        } else if (what == 1) {
          add(EventType::kPause, t + 50);
          t += 50 + rng_() % 20000;
          add(EventType::kResume, t);
        }
      }
      const int end = static_cast<int>(rng_() % 6);
      if (end == 0) {
        add(EventType::kError, t + 1000).Fatal(true);
      } else if (end != 1) {  // 1: silent
        add(EventType::kStop, t + 1000);
      }
    }
    std::stable_sort(events_.begin(), events_.end(), [](const Ev& a, const Ev& b) {
      return a.v.received_at_ms < b.v.received_at_ms;
    });
  }
  const std::deque<Ev>& events() const { return events_; }

 private:
  std::mt19937 rng_;
  std::deque<std::string> ids_;
  std::deque<Ev> events_;
};

constexpr int kPartitions = 3;
constexpr int64_t kSliceKeep = 120000;

class PartitionQoeTest : public ::testing::TestWithParam<uint32_t> {
 protected:
  PartitionQoeTest() : clock_(kT0 + 24 * 3600 * 1000), book_(nullptr, ""), one_(options_, &book_, &clock_) {
    unsplit_ = std::make_unique<PartitionQoe>(options_, kSliceKeep);
    shards_.Write([&](SreShards::Map& m) {
      for (PartitionId p = 0; p < kPartitions; ++p) m[p].state = std::make_unique<PartitionQoe>(options_, kSliceKeep);
    });
  }

  // Delivers events [from, to) in batches of 40, moving every state's
  // watermark as SreProcessor does (the newest min(ts, received_at)).
  void Feed(const std::deque<Ev>& events, size_t from, size_t to) {
    for (size_t i = from; i < to; ++i) {
      const EventView& e = events[i].v;
      one_.Apply(e);
      unsplit_->Apply(e);
      const PartitionId p = HashPartition(e.session_id, kPartitions);
      shards_.Write([&](SreShards::Map& m) { m[p].state->Apply(e); });
      watermark_ = std::max(watermark_, std::min(e.ts_ms, e.received_at_ms));
      if (i % 40 == 39 || i + 1 == to) Advance(watermark_);
    }
  }
  void Advance(int64_t w) {
    one_.AdvanceWatermark(w);
    unsplit_->AdvanceWatermark(w);
    shards_.Write([&](SreShards::Map& m) {
      for (auto& [p, s] : m) s.state->AdvanceWatermark(w);
    });
  }

  void ExpectMergedEqualsOneProcess() {
    const int64_t as_of = one_.closed_through();
    ASSERT_NE(as_of, OpenWindows::kNothingClosed);
    for (int64_t window : {10000LL, 60000LL, 300000LL, 3600000LL, 7200000LL}) {
      for (int d = 0; d < static_cast<int>(kQoeDims); ++d) {
        const auto dim = static_cast<QoeDim>(d);
        auto want = one_.Read(dim == QoeDim::kTotal ? std::nullopt : std::optional(dim), window);
        ASSERT_TRUE(want);
        PartialQuery q;
        q.what = PartialQuery::What::kRange;
        q.from = want->from;
        q.to = want->as_of;
        q.step_ms = want->step_ms;
        if (dim != QoeDim::kTotal) q.dim = dim;
        auto got = Sum(q)[q.from];
        EXPECT_EQ(got[GroupKey{}], want->total) << "window " << window;
        std::map<std::string, QoeCounts> groups;
        for (const auto& [g, c] : got) {
          if (g.dim != QoeDim::kTotal) groups[g.key] = c;
        }
        if (dim != QoeDim::kTotal) {
          EXPECT_EQ(groups, want->groups) << QoeDimName(dim) << " " << window;
        }
      }
    }
    // Window by window, for every group of every dimension.
    size_t windows = 0;
    const std::optional<QoeReading> cells = one_.Read(QoeDim::kCdnCountry, 3600000);
    ASSERT_TRUE(cells);
    for (const auto& [g, c] : cells->groups) {
      GroupKey key{QoeDim::kCdnCountry, g};
      auto want = one_.Series(key, 10000, 3600000);
      PartialQuery q;
      q.what = PartialQuery::What::kSeries;
      q.from = as_of - 3600000;
      q.to = as_of;
      q.step_ms = 10000;
      q.group = key;
      std::map<int64_t, QoeCounts> got;
      for (const auto& [at, groups] : Sum(q)) got[at] = groups.at(key);
      EXPECT_EQ(got, want) << g;
      windows += want.size();
    }
    EXPECT_GT(windows, 100u);
  }

  void ExpectSlicesEqualUnsplit() {
    PartialQuery q;
    q.what = PartialQuery::What::kSlices;
    q.from = INT64_MIN;
    q.to = INT64_MAX;
    auto merged = Sum(q);
    auto want = unsplit_->Slices(INT64_MIN, INT64_MAX);
    for (auto& [start, groups] : want) {  // the detector's slices leave title_id out
      std::erase_if(groups, [](const auto& g) { return g.first.dim == QoeDim::kTitleId; });
    }
    EXPECT_GT(want.size(), 60u);  // of the 120 s kept
    // A partition with no event in a slice has no entry for it; compare the
    // slices the unsplit state has.
    for (auto& [start, groups] : merged) {
      if (!want.count(start)) {
        EXPECT_TRUE(groups.empty()) << start;
      }
    }
    for (const auto& [start, groups] : want) EXPECT_EQ(merged[start], groups) << start;
  }

  std::map<int64_t, GroupCounts> Sum(const PartialQuery& q) { return SumCounts(shards_.Report(q)); }

  SreOptions options_;
  ManualClock clock_;
  AlertBook book_;
  SreState one_;
  std::unique_ptr<PartitionQoe> unsplit_;
  SreShards shards_;
  int64_t watermark_ = INT64_MIN;
};

TEST_P(PartitionQoeTest, MergedPartitionsEqualOneProcessFieldByField) {
  RandomTraffic traffic(GetParam());
  Feed(traffic.events(), 0, traffic.events().size());
  ExpectSlicesEqualUnsplit();
  Advance(watermark_ + 60000);  // every window closed, every silent session ended
  ExpectMergedEqualsOneProcess();
}

TEST_P(PartitionQoeTest, ShardRestoredFromItsCheckpointEndsEqual) {
  RandomTraffic traffic(GetParam());
  const size_t half = traffic.events().size() / 2;
  Feed(traffic.events(), 0, half);
  ScopedTempDir tmp;
  auto store = std::make_shared<LocalObjectStore>(Env::Default(), JoinPath(tmp.path(), "store"));
  SreShardCheckpoints cps(store.get(), Env::Default(), JoinPath(tmp.path(), "scratch"), options_, kSliceKeep);
  // Partition 1 moves: checkpointed, dropped, restored (as a new owner would).
  shards_.Write([&](SreShards::Map& m) {
    m[1].next = 1234;
    ASSERT_TRUE(cps.Save(1, m[1]).ok());
    m.erase(1);
  });
  auto restored = cps.Load(1);
  ASSERT_TRUE(restored.ok()) << restored.status().ToString();
  EXPECT_EQ(restored->next, 1234);
  shards_.Write([&](SreShards::Map& m) { m[1] = std::move(restored).value(); });
  Feed(traffic.events(), half, traffic.events().size());
  ExpectSlicesEqualUnsplit();
  Advance(watermark_ + 60000);
  ExpectMergedEqualsOneProcess();
  EXPECT_TRUE(cps.Load(2).status().IsNotFound());
}

INSTANTIATE_TEST_SUITE_P(Seeds, PartitionQoeTest, ::testing::Values(1u, 2u, 3u, 42u, 2026u));

TEST(SrePartialsTest, WireRoundTripAndNewestPerPartition) {
  PartitionPartial a;
  a.partition = 1;
  a.next = 10;
  a.watermark = kT0;
  a.closed_through = kT0 - 5000;
  a.slices_from = kT0 - 120000;
  a.counts[kT0][GroupKey{QoeDim::kCdn, "cdn-b"}].attempts = 7;
  a.counts[kT0][GroupKey{QoeDim::kCdn, "cdn-b"}].vst.Add(1234);
  PartitionPartial b = a;
  b.next = 12;
  b.counts[kT0][GroupKey{}].vsf = 3;
  std::vector<PartitionPartial> back;
  ASSERT_TRUE(DecodePartials(EncodePartials({a, b}), &back).ok());
  ASSERT_EQ(back.size(), 2u);
  EXPECT_EQ(back[0], a);
  EXPECT_EQ(back[1], b);
  auto newest = NewestPerPartition(back);
  ASSERT_EQ(newest.size(), 1u);
  EXPECT_EQ(newest[0].next, 12);
  std::string enc = EncodePartials({a});
  EXPECT_FALSE(DecodePartials(enc.substr(0, enc.size() - 1), &back).ok());
  PartialQuery q;
  q.what = PartialQuery::What::kSeries;
  q.from = 5;
  q.to = 99;
  q.step_ms = 60000;
  q.group = GroupKey{QoeDim::kCdnCountry, "cdn-b|DE"};
  std::string path = PartialsPath(q);
  EXPECT_NE(path.find("key=cdn-b%7CDE"), std::string::npos) << path;
}

}  // namespace
}  // namespace viewpipe::sre
