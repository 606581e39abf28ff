// The merge of partial states (feature_merge.h) against the one-process
// fold: random events split over partitions by session (as the log splits
// them), each partition folded alone, the partials merged; the result must
// equal the fold of all events, field by field. The data is checked to make
// every merge rule matter (for each field some id's merged value differs
// from every single partial's), so a wrong rule fails the test.

#include "features/feature_merge.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "features/feature_fold.h"
#include "features/feature_vector.h"
#include "features/features_test_util.h"
#include "log/log.h"

namespace viewpipe::features {
namespace {

using testing::EventFactory;
using testing::kDay;
using testing::kT0;

constexpr int kPartitions = 4;

struct Folded {
  std::map<std::string, ProfileState> profiles;
  std::map<std::string, TitleState> titles;
  std::map<std::string, SessionMark> sessions;
};

void Fold(const FeatureFold& fold, const std::vector<EventView>& events, Folded* out) {
  for (const EventView& e : events) {
    fold.ApplyToProfile(e, &out->profiles[std::string(e.profile_id)]);
    fold.ApplyToTitle(e, &out->sessions[SessionKeyId(e.title_id, e.session_id)],
                      &out->titles[std::string(e.title_id)]);
  }
}

// Random events of a few profiles over many titles, 40 days with a dense
// last 20 minutes (concurrency, 5-minute plays).
std::vector<EventView> RandomEvents(EventFactory* f, std::mt19937_64* rng, int n) {
  static const EventType kTypes[] = {EventType::kAttempt,   EventType::kPlayStart,
                                     EventType::kHeartbeat, EventType::kHeartbeat,
                                     EventType::kStop,      EventType::kError};
  const int64_t end = kT0 + 40 * kDay;
  std::vector<EventView> out;
  for (int i = 0; i < n; ++i) {
    const bool recent = (*rng)() % 2 == 0;
    const int64_t ts = recent ? end - static_cast<int64_t>((*rng)() % (20 * 60 * 1000))
                              : kT0 + static_cast<int64_t>((*rng)() % (40 * kDay));
    const int title = static_cast<int>((*rng)() % 45);
    const std::string title_id =
        (title < 3 ? "t" : "x") + std::to_string(title < 3 ? title + 1 : title);
    EventView e = f->Make(kTypes[(*rng)() % 6], ts, "p" + std::to_string((*rng)() % 4), title_id,
                          "s" + std::to_string((*rng)() % 300),
                          static_cast<DeviceType>(1 + (*rng)() % kDeviceSlots));
    if ((*rng)() % 2 == 0) e.position_ms = static_cast<int64_t>((*rng)() % 7'500'000);
    if (e.type == EventType::kError) e.fatal = (*rng)() % 2 == 0;
    out.push_back(e);
  }
  return out;
}

void ExpectSameProfile(const std::string& id, const ProfileState& a, const ProfileState& b) {
  SCOPED_TRACE("profile " + id);
  EXPECT_EQ(a.last_ts, b.last_ts);
  ASSERT_EQ(a.recent.size(), b.recent.size());
  for (size_t i = 0; i < a.recent.size(); ++i) {
    EXPECT_EQ(a.recent[i].title_id, b.recent[i].title_id) << i;
    EXPECT_EQ(a.recent[i].ts, b.recent[i].ts) << i;
    EXPECT_EQ(a.recent[i].event_id, b.recent[i].event_id) << i;
    EXPECT_EQ(a.recent[i].position_ms, b.recent[i].position_ms) << i;
  }
  ASSERT_EQ(a.days.size(), b.days.size());
  for (size_t i = 0; i < a.days.size(); ++i) {
    EXPECT_EQ(a.days[i].day, b.days[i].day);
    EXPECT_EQ(a.days[i].attempts, b.days[i].attempts) << a.days[i].day;
    EXPECT_EQ(a.days[i].genre_heartbeats, b.days[i].genre_heartbeats) << a.days[i].day;
    EXPECT_EQ(a.days[i].device_heartbeats, b.days[i].device_heartbeats) << a.days[i].day;
  }
  EXPECT_EQ(a.completed, b.completed);
}

void ExpectSameTitle(const std::string& id, const TitleState& a, const TitleState& b) {
  SCOPED_TRACE("title " + id);
  EXPECT_EQ(a.last_ts, b.last_ts);
  EXPECT_EQ(a.alive_seconds, b.alive_seconds);
  EXPECT_EQ(a.plays_5min, b.plays_5min);
  EXPECT_EQ(a.plays_hour, b.plays_hour);
  EXPECT_EQ(a.trend_ref_ms, b.trend_ref_ms);
  EXPECT_NEAR(a.trend_score, b.trend_score, 1e-9 * std::max(1.0, b.trend_score));
  EXPECT_EQ(a.completion_permille_sum, b.completion_permille_sum);
  EXPECT_EQ(a.completion_count, b.completion_count);
}

// For each field, how many ids have a merged value that no single partial has.
struct Coverage {
  int last_ts = 0, recent = 0, days = 0, completed = 0;
  int alive = 0, plays = 0, trend = 0, completion = 0;
};

class FeatureMergeTest : public ::testing::TestWithParam<uint64_t> {
 protected:
  CatalogTable catalog_ = testing::TestCatalog();
  FeatureFold fold_{&catalog_};
  EventFactory f_;
};

bool SameRecent(const ProfileState& a, const ProfileState& b) {
  if (a.recent.size() != b.recent.size()) return false;
  for (size_t i = 0; i < a.recent.size(); ++i) {
    if (a.recent[i].title_id != b.recent[i].title_id || a.recent[i].ts != b.recent[i].ts) {
      return false;
    }
  }
  return true;
}

void CountProfile(const ProfileState& m, const std::vector<ProfileState>& parts, Coverage* c) {
  auto none = [&](auto same) {
    return std::none_of(parts.begin(), parts.end(), [&](const ProfileState& p) { return same(p); });
  };
  c->last_ts += none([&](const ProfileState& p) { return p.last_ts == m.last_ts; });
  c->recent += none([&](const ProfileState& p) { return SameRecent(p, m); });
  c->days += none([&](const ProfileState& p) {
    return p.days.size() == m.days.size() &&
           std::equal(p.days.begin(), p.days.end(), m.days.begin(), [](auto& x, auto& y) {
             return x.day == y.day && x.attempts == y.attempts &&
                    x.genre_heartbeats == y.genre_heartbeats &&
                    x.device_heartbeats == y.device_heartbeats;
           });
  });
  c->completed += none([&](const ProfileState& p) { return p.completed == m.completed; });
}

void CountTitle(const TitleState& m, const std::vector<TitleState>& parts, Coverage* c) {
  auto none = [&](auto same) {
    return std::none_of(parts.begin(), parts.end(), [&](const TitleState& p) { return same(p); });
  };
  c->alive += none([&](const TitleState& p) { return p.alive_seconds == m.alive_seconds; });
  c->plays += none([&](const TitleState& p) {
    return p.plays_5min == m.plays_5min && p.plays_hour == m.plays_hour;
  });
  c->trend += none([&](const TitleState& p) {
    return std::abs(p.trend_score - m.trend_score) < 1e-6 * std::max(1.0, m.trend_score);
  });
  c->completion += none([&](const TitleState& p) {
    return p.completion_count == m.completion_count &&
           p.completion_permille_sum == m.completion_permille_sum;
  });
}

TEST_P(FeatureMergeTest, MergedPartialsEqualTheOneProcessFold) {
  std::mt19937_64 rng(GetParam());
  std::vector<EventView> events = RandomEvents(&f_, &rng, 6000);
  Folded whole;
  std::shuffle(events.begin(), events.end(), rng);
  Fold(fold_, events, &whole);
  // The log's split: a session's events all in one partition (key session_id).
  std::vector<std::vector<EventView>> by_partition(kPartitions);
  for (const EventView& e : events) {
    by_partition[static_cast<size_t>(HashPartition(e.session_id, kPartitions))].push_back(e);
  }
  std::vector<Folded> partial(kPartitions);
  for (int p = 0; p < kPartitions; ++p) {
    std::shuffle(by_partition[p].begin(), by_partition[p].end(), rng);
    Fold(fold_, by_partition[p], &partial[p]);
  }
  Coverage cov;
  const int64_t end = kT0 + 40 * kDay;
  for (const auto& [id, want] : whole.profiles) {
    std::vector<ProfileState> parts;
    for (const Folded& f : partial) {
      if (auto it = f.profiles.find(id); it != f.profiles.end()) parts.push_back(it->second);
    }
    const ProfileState merged = MergeProfileStates(parts);
    ExpectSameProfile(id, merged, want);
    CountProfile(merged, parts, &cov);
    for (int64_t at : {end, end + kDay / 2, end + 8 * kDay}) {
      std::string a, b;
      AppendProfileJson(id, EvaluateProfile(merged, at), &a);
      AppendProfileJson(id, EvaluateProfile(want, at), &b);
      EXPECT_EQ(a, b) << at;
    }
  }
  for (const auto& [id, want] : whole.titles) {
    std::vector<TitleState> parts;
    for (const Folded& f : partial) {
      if (auto it = f.titles.find(id); it != f.titles.end()) parts.push_back(it->second);
    }
    const TitleState merged = MergeTitleStates(parts);
    ExpectSameTitle(id, merged, want);
    CountTitle(merged, parts, &cov);
    for (int64_t at : {end, end + 10'000, end + 3600'000}) {
      const TitleFeatures a = EvaluateTitle(merged, at), b = EvaluateTitle(want, at);
      EXPECT_EQ(a.concurrent_viewers, b.concurrent_viewers);
      EXPECT_EQ(a.plays_1h, b.plays_1h);
      EXPECT_EQ(a.plays_24h, b.plays_24h);
      EXPECT_NEAR(a.trending_score, b.trending_score, 1e-9 * std::max(1.0, b.trending_score));
      EXPECT_EQ(a.avg_completion, b.avg_completion);
    }
  }
  // Every rule mattered for some id: no single partial already had the answer.
  EXPECT_GT(cov.recent, 0);
  EXPECT_GT(cov.days, 0);
  EXPECT_GT(cov.completed, 0);
  EXPECT_GT(cov.alive, 0);
  EXPECT_GT(cov.plays, 0);
  EXPECT_GT(cov.trend, 0);
  EXPECT_GT(cov.completion, 0);
  EXPECT_GT(whole.profiles.size(), 0u);
}

INSTANTIATE_TEST_SUITE_P(Seeds, FeatureMergeTest, ::testing::Values(1, 2, 3, 42, 7777));

TEST(FeatureMergeSingleTest, AMergeOfOneStateIsThatState) {
  CatalogTable catalog = testing::TestCatalog();
  FeatureFold fold(&catalog);
  EventFactory f;
  std::mt19937_64 rng(9);
  Folded whole;
  Fold(fold, RandomEvents(&f, &rng, 2000), &whole);
  for (const auto& [id, s] : whole.profiles) {
    ExpectSameProfile(id, MergeProfileStates(std::span(&s, 1)), s);
  }
  for (const auto& [id, s] : whole.titles) {
    ExpectSameTitle(id, MergeTitleStates(std::span(&s, 1)), s);
  }
  EXPECT_EQ(MergeTitleStates({}).trend_score, 0);
  EXPECT_TRUE(MergeProfileStates({}).recent.empty());
}

}  // namespace
}  // namespace viewpipe::features
