#include "features/feature_fold.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "features/feature_vector.h"
#include "features/features_test_util.h"

namespace viewpipe::features {
namespace {

using testing::EventFactory;
using testing::kDay;
using testing::kT0;

class FeatureFoldTest : public ::testing::Test {
 protected:
  ProfileFeatures Profile(const std::vector<EventView>& events, int64_t as_of) {
    ProfileState s;
    for (const EventView& e : events) fold_.ApplyToProfile(e, &s);
    return EvaluateProfile(s, as_of);
  }
  TitleFeatures Title(const std::vector<EventView>& events, int64_t as_of) {
    TitleState s;
    std::map<std::string, SessionMark> sessions;
    for (const EventView& e : events)
      fold_.ApplyToTitle(e, &sessions[std::string(e.session_id)], &s);
    return EvaluateTitle(s, as_of);
  }
  EventView Hb(int64_t ts, const std::string& title, DeviceType d = DeviceType::kTv) {
    return f_.Make(EventType::kHeartbeat, ts, "p1", title, "s1", d);
  }

  CatalogTable catalog_ = testing::TestCatalog();
  FeatureFold fold_{&catalog_};
  EventFactory f_;
};

TEST(CatalogTableTest, BadRowsAreSkippedAndCounted) {
  CatalogTable c = CatalogTable::Parse(
      "title_id,genre,kind,duration_s\nt1,drama,film,3600\nt2,comedy\nt3,news,live,abc\n"
      ",x,film,10\nt4,kids,series,0\nt5,anime,series,1200\r\n");
  EXPECT_EQ(c.size(), 2u);
  EXPECT_EQ(c.bad_rows(), 4);
  EXPECT_EQ(c.GenreOf("t1"), "drama");
  EXPECT_EQ(c.GenreOf("t5"), "anime");
  EXPECT_EQ(c.Find("t5")->duration_ms, 1200000);
  EXPECT_EQ(c.GenreOf("t2"), kUnknownGenre);
}

TEST_F(FeatureFoldTest, RecentTitlesKeepsTheTwentyNewestWithTheirLastPosition) {
  std::vector<EventView> ev;
  for (int i = 0; i < 25; ++i) {
    EventView e = Hb(kT0 + i * 1000, "x" + std::to_string(i));
    e.position_ms = i * 10;
    ev.push_back(e);
  }
  EventView again = Hb(kT0 + 100000, "x3");  // x3 again, newest, no position
  ev.push_back(again);
  EventView older = Hb(kT0 + 50, "x24");  // older than x24's newest: ignored
  older.position_ms = 999;
  ev.push_back(older);
  ProfileFeatures p = Profile(ev, kT0 + 200000);
  ASSERT_EQ(p.recent_titles.size(), 20u);
  EXPECT_EQ(p.recent_titles[0].title_id, "x3");
  EXPECT_FALSE(p.recent_titles[0].position_ms.has_value());
  EXPECT_EQ(p.recent_titles[1].title_id, "x24");
  EXPECT_EQ(p.recent_titles[1].position_ms, 240);
  EXPECT_EQ(p.recent_titles[19].title_id, "x6");  // x0..x5 minus x3 fell out
}

TEST_F(FeatureFoldTest, WatchSecondsPerGenreOverSevenAndThirtyUtcDays) {
  const int64_t t = kT0 + 40 * kDay + 5000;  // as of: 5 s into a day
  std::vector<EventView> ev = {
      Hb(t, "t1"),                     // today: 7d and 30d
      Hb(t - 6 * kDay - 5000, "t1"),   // start of the 7th day back: 7d
      Hb(t - 6 * kDay - 5001, "t2"),   // the day before: 30d only
      Hb(t - 29 * kDay - 5000, "t2"),  // first day of 30d
      Hb(t - 29 * kDay - 5001, "t3"),  // just outside 30d
      Hb(t - 2 * kDay, "t9"),          // not in the catalog: unknown
  };
  ProfileFeatures p = Profile(ev, t);
  EXPECT_EQ(p.watch_seconds_7d, (std::map<std::string, int64_t>{{"drama", 20}, {"unknown", 10}}));
  EXPECT_EQ(p.watch_seconds_30d,
            (std::map<std::string, int64_t>{{"comedy", 20}, {"drama", 20}, {"unknown", 10}}));
}

TEST_F(FeatureFoldTest, SessionsLastActiveCompletionsAndPreferredDevice) {
  const int64_t t = kT0 + 40 * kDay;
  std::vector<EventView> ev;
  ev.push_back(f_.Make(EventType::kAttempt, t - 1000, "p1", "t1"));
  ev.push_back(f_.Make(EventType::kAttempt, t - 7 * kDay, "p1", "t1"));  // 8th day back
  EventView done = Hb(t - 3000, "t1", DeviceType::kMobile);
  done.position_ms = 3240000;  // 90 % of 60 min
  ev.push_back(done);
  EventView almost = Hb(t - 2000, "t2", DeviceType::kMobile);
  almost.position_ms = 1619999;  // just under 90 % of 30 min
  ev.push_back(almost);
  ev.push_back(Hb(t - 4000, "t3", DeviceType::kTv));
  EventView unknown = Hb(t - 4000, "t9", DeviceType::kWeb);
  unknown.position_ms = 1LL << 40;  // no duration: never completed
  ev.push_back(unknown);
  ProfileFeatures p = Profile(ev, t);
  EXPECT_EQ(p.sessions_7d, 1);
  EXPECT_EQ(p.last_active_ms, t - 1000);
  EXPECT_EQ(p.titles_completed_30d, 1);
  EXPECT_EQ(p.preferred_device, "mobile");
  // 30 days later nothing is left in any window.
  ProfileFeatures later = Profile(ev, t + 31 * kDay);
  EXPECT_FALSE(later.last_active_ms.has_value());
  EXPECT_TRUE(later.recent_titles.empty());
  EXPECT_EQ(later.titles_completed_30d, 0);
  EXPECT_FALSE(later.preferred_device.has_value());
}

TEST_F(FeatureFoldTest, ConcurrentViewersFollowTheEventsMdDefinition) {
  const int64_t t = kT0 + 1000000;
  auto ev = [&](EventType type, int64_t ts, const char* session) {
    return f_.Make(type, ts, "p", "t1", session);
  };
  EventView fatal = ev(EventType::kError, t - 2000, "s4");
  fatal.fatal = true;
  EventView soft = ev(EventType::kError, t - 2000, "s5");
  soft.fatal = false;
  std::vector<EventView> events = {
      ev(EventType::kAttempt, t - 5000, "s1"),                                           // counts
      ev(EventType::kAttempt, t - 9000, "s2"),    ev(EventType::kStop, t - 1000, "s2"),  // stopped
      ev(EventType::kHeartbeat, t - 1000, "s3"),          // never attempted
      ev(EventType::kAttempt, t - 9000, "s4"),    fatal,  // fatal error
      ev(EventType::kAttempt, t - 9000, "s5"),    soft,   // non-fatal: counts
      ev(EventType::kPlayStart, t - 30000, "s6"),         // in the oldest second of the window
      ev(EventType::kPlayStart, t - 30001, "s7"),         // the second before: timed out
  };
  // t is a whole second: the window is the 30 seconds before it and t's second.
  EXPECT_EQ(Title(events, t).concurrent_viewers, 3);
  EXPECT_EQ(Title(events, t + 999).concurrent_viewers, 3);
  EXPECT_EQ(Title(events, t + 1000).concurrent_viewers, 2);
}

// A late event that arrives after its session's second left the window (and
// was pruned) must neither resurrect nor double count the session, in any order.
TEST_F(FeatureFoldTest, ConcurrencyIsExactAcrossPruningAndLateEvents) {
  const int64_t t = kT0 + 1000000;
  auto ev = [&](EventType type, int64_t ts, const char* session) {
    return f_.Make(type, ts, "p", "t1", session);
  };
  std::vector<EventView> events = {
      ev(EventType::kAttempt, t - 600000, "late"),  // delivered last, 10 min old
      ev(EventType::kHeartbeat, t - 5000, "late"),  // the session is alive now
      ev(EventType::kAttempt, t - 90000, "old"),   ev(EventType::kHeartbeat, t - 80000, "old"),
      ev(EventType::kAttempt, t - 2000, "now"),
  };
  std::vector<EventView> order = {events[1], events[2], events[4], events[3], events[0]};
  EXPECT_EQ(Title(events, t).concurrent_viewers, 2);
  EXPECT_EQ(Title(order, t).concurrent_viewers, 2);
  std::reverse(order.begin(), order.end());
  EXPECT_EQ(Title(order, t).concurrent_viewers, 2);
  // The title's clock is ahead when the late attempt, then its heartbeat, come.
  order = {events[4], events[0], events[1], events[2], events[3]};
  EXPECT_EQ(Title(order, t).concurrent_viewers, 2);
}

TEST_F(FeatureFoldTest, PlaysOverBucketWindowsAndDecayedTrending) {
  const int64_t t = kT0 + 10 * kDay + 2 * 3600000 + 7 * 60000;  // 02:07
  std::vector<EventView> events;
  auto play = [&](int64_t ts) { events.push_back(f_.Make(EventType::kPlayStart, ts, "p", "t1")); };
  play(t);                             // 1h, 24h
  play(t - 57 * 60000);                // 01:10: the oldest of the 12 five-minute buckets
  play(t - 58 * 60000);                // 01:09 (bucket 01:05): outside 1h
  play(t - 24 * 3600000 + 60000);      // 02:08 yesterday: hour bucket 02:00 yesterday is out
  play(t - 23 * 3600000 - 7 * 60000);  // 03:00 yesterday: first hour bucket of 24h
  TitleFeatures f = Title(events, t);
  EXPECT_EQ(f.plays_1h, 2);
  EXPECT_EQ(f.plays_24h, 4);
  double want = 0;
  for (const EventView& e : events) {
    want += std::exp2(-static_cast<double>(t - e.ts_ms) / kTrendHalfLifeMs);
  }
  EXPECT_NEAR(f.trending_score, want, 1e-9 * want);
  EXPECT_NEAR(Title(events, t + kTrendHalfLifeMs).trending_score, want / 2, 1e-9 * want);
}

TEST_F(FeatureFoldTest, AverageCompletionOverStops) {
  EventView a = f_.Make(EventType::kStop, kT0, "p", "t2", "s1");
  a.position_ms = 900000;  // half of 30 min
  EventView b = f_.Make(EventType::kStop, kT0 + 1, "p", "t2", "s2");
  b.position_ms = 5000000;                                            // past the end: capped at 1
  EventView c = f_.Make(EventType::kStop, kT0 + 2, "p", "t2", "s3");  // no position: ignored
  TitleFeatures f = Title({a, b, c}, kT0 + 10);
  ASSERT_TRUE(f.avg_completion.has_value());
  EXPECT_DOUBLE_EQ(*f.avg_completion, 0.75);
  EXPECT_FALSE(Title({c}, kT0 + 10).avg_completion.has_value());
}

// The property online == offline rests on: any order of the same events
// gives the same features at a time after all of them.
TEST_F(FeatureFoldTest, FoldOrderDoesNotChangeTheFeatures) {
  std::mt19937_64 rng(7);
  std::vector<EventView> events;
  const EventType types[] = {EventType::kAttempt, EventType::kPlayStart, EventType::kHeartbeat,
                             EventType::kStop,    EventType::kError,     EventType::kPause};
  for (int i = 0; i < 3000; ++i) {
    EventView e =
        f_.Make(types[rng() % 6], kT0 + static_cast<int64_t>(rng() % (40 * kDay)),
                "p" + std::to_string(rng() % 3), "t" + std::to_string(1 + rng() % 30),
                "s" + std::to_string(rng() % 200), static_cast<DeviceType>(1 + rng() % 6));
    e.position_ms = static_cast<int64_t>(rng() % 8000000);
    e.fatal = rng() % 2 == 0;
    events.push_back(e);
  }
  const int64_t end = kT0 + 40 * kDay + 1;
  auto run = [&](const std::vector<EventView>& ev) {
    std::map<std::string, ProfileState> p;
    std::map<std::string, TitleState> t;
    std::map<std::string, SessionMark> marks;
    for (const EventView& e : ev) {
      fold_.ApplyToProfile(e, &p[std::string(e.profile_id)]);
      fold_.ApplyToTitle(e, &marks[SessionKeyId(e.title_id, e.session_id)],
                         &t[std::string(e.title_id)]);
    }
    std::string out;
    for (const auto& [id, s] : p) AppendProfileJson(id, EvaluateProfile(s, end), &out);
    for (const auto& [id, s] : t) {
      TitleFeatures f = EvaluateTitle(s, end);
      f.trending_score = std::round(f.trending_score * 1e9) / 1e9;
      AppendTitleJson(id, f, &out);
    }
    return out;
  };
  std::vector<EventView> sorted = events;
  std::sort(sorted.begin(), sorted.end(),
            [](const EventView& a, const EventView& b) { return a.ts_ms < b.ts_ms; });
  const std::string want = run(sorted);
  EXPECT_NE(want.find("\"drama\""), std::string::npos);
  for (int round = 0; round < 3; ++round) {
    std::shuffle(events.begin(), events.end(), rng);
    EXPECT_EQ(run(events), want);
  }
}

TEST(FeatureStateTest, EncodingRoundTripsAndRejectsDamage) {
  ProfileState p;
  p.last_ts = 123;
  p.recent.push_back({"t1", 100, "e1", -1});
  ProfileDay d{19000, 2, {{"drama", 3}}, {1, 2, 3, 4, 5, 6}};
  p.days.push_back(d);
  p.completed["t1"] = 99;
  p.updated_at_ms = 5;
  const std::string bytes = EncodeProfileState(p);
  ProfileState back;
  ASSERT_TRUE(DecodeProfileState(bytes, &back).ok());
  EXPECT_EQ(EncodeProfileState(back), bytes);
  for (size_t n = 0; n < bytes.size(); ++n) {
    EXPECT_TRUE(DecodeProfileState(bytes.substr(0, n), &back).IsCorruption()) << n;
  }
  EXPECT_TRUE(DecodeProfileState(bytes + "x", &back).IsCorruption());

  TitleState t;
  t.alive_seconds[5000] = 2;
  t.plays_hour[0] = 3;
  t.trend_score = 1.5;
  const std::string tb = EncodeTitleState(t);
  TitleState tback;
  ASSERT_TRUE(DecodeTitleState(tb, &tback).ok());
  EXPECT_EQ(EncodeTitleState(tback), tb);
  EXPECT_TRUE(DecodeTitleState(tb.substr(0, tb.size() - 1), &tback).IsCorruption());
  EXPECT_TRUE(DecodeTitleState(bytes, &tback).IsCorruption() || EncodeTitleState(tback) != tb);
  SessionMark m{7, "ev", true, false}, mback;
  ASSERT_TRUE(DecodeSessionMark(EncodeSessionMark(m), &mback).ok());
  EXPECT_EQ(mback.ts, 7);
  EXPECT_EQ(mback.event_id, "ev");
  EXPECT_TRUE(mback.terminal);
  EXPECT_FALSE(mback.started);
  EXPECT_TRUE(DecodeSessionMark(EncodeSessionMark(m) + "\x01", &mback).IsCorruption());
}

}  // namespace
}  // namespace viewpipe::features
