// The report from the hot tier's session summary equals the report from raw
// events: a real HotTier fed in small batches, with events arriving late
// and out of order, re-delivered duplicates, sessions spanning many
// batches, sessions crossing the range's boundaries (pre-period start,
// `from`, `to`), profiles in two variants, events without the assignment.
// Also: the summary after many batches equals one built from all events at
// once; it survives a reopen, is rebuilt when missing, and is evicted 7
// days after the events.
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "common/scoped_temp_dir.h"
#include "experiments/experiment_service.h"
#include "warehouse/session_summary.h"

namespace viewpipe::experiments {
namespace {

constexpr int64_t kDay = 86400000, kHour = 3600000, kMin = 60000;
constexpr int64_t kNow = 200 * kDay + 12 * kHour;  // the clock: day 200, noon
constexpr int64_t kStart = kNow - 13 * kDay - 12 * kHour;  // hot window start (14 days)

struct Ev {
  std::string id, session, profile;
  EventType type = EventType::kHeartbeat;
  int64_t ts = 0;
  std::optional<int32_t> rebuffer_ms;
  std::optional<bool> fatal;
  std::vector<std::pair<std::string, std::string>> exps;
  EventView view() const {
    EventView e;
    e.event_id = id;
    e.type = type;
    e.ts_ms = e.received_at_ms = ts;
    e.session_id = session;
    e.profile_id = profile;
    e.title_id = "t";
    e.country = "US";
    e.cdn = "c";
    e.rebuffer_ms = rebuffer_ms;
    e.fatal = fatal;
    for (const auto& [k, v] : exps) e.experiments.emplace_back(k, v);
    return e;
  }
};

class SummaryReportTest : public ::testing::Test {
 protected:
  SummaryReportTest() : clock_(kNow) { spdlog::set_level(spdlog::level::warn); }
  void Open() {
    hot_.reset();
    HotTierOptions o;
    o.db_path = tmp_.path() + "/hot.duckdb";
    o.clock = &clock_;
    o.hot_days = 14;
    auto h = HotTier::Open(o);
    ASSERT_TRUE(h.ok()) << h.status().ToString();
    hot_ = std::move(h).value();
    service_ = std::make_unique<ExperimentService>(hot_.get(), nullptr, &clock_);
  }
  // One session of `profile` from t0: an attempt, then a failed start or a
  // play_start and `steps` random events; a stop unless it goes silent.
  void Session(const std::string& profile, int64_t t0, int steps, std::mt19937_64& rng,
               const std::vector<std::pair<std::string, std::string>>& exps) {
    const std::string s = "s" + std::to_string(sessions_++);
    auto add = [&](EventType type, int64_t ts) -> Ev& {
      Ev e{"e" + std::to_string(events_.size()), s, profile, type, ts, {}, {}, exps};
      if (rng() % 10 == 0) e.exps.clear();  // not every event carries the map
      events_.push_back(e);
      return events_.back();
    };
    int64_t t = t0;
    add(EventType::kAttempt, t);
    if (rng() % 12 == 0) {
      add(EventType::kError, t + 700).fatal = true;
      return;
    }
    add(EventType::kPlayStart, t += 1000 + static_cast<int64_t>(rng() % 3000));
    const EventType kinds[] = {EventType::kHeartbeat, EventType::kPause,       EventType::kResume,
                               EventType::kSeek,      EventType::kRebufferStart,
                               EventType::kRebufferEnd, EventType::kHeartbeat};
    for (int i = 0; i < steps; ++i) {
      t += 1000 + static_cast<int64_t>(rng() % (20 * kMin));
      Ev& e = add(kinds[rng() % 7], t);
      if (e.type == EventType::kRebufferEnd) e.rebuffer_ms = static_cast<int32_t>(rng() % 9000);
      if (e.type == EventType::kError) e.fatal = false;
    }
    if (rng() % 4 != 0) add(EventType::kStop, t + 500);
  }
  void World() {
    std::mt19937_64 rng(7);
    for (int p = 0; p < 80; ++p) {
      const std::string profile = "p" + std::to_string(p);
      std::vector<std::pair<std::string, std::string>> exps = {
          {"exp-x", p % 2 ? "treatment" : "control"}, {"exp-y", std::string(1, 'a' + p % 3)}};
      const int n = 1 + static_cast<int>(rng() % 6);
      for (int k = 0; k < n; ++k) {
        if (p % 17 == 3 && k == n - 1) exps[0].second = "other";  // a second variant: mixed
        const int64_t t0 = kStart + static_cast<int64_t>(rng() % (13 * kDay + 10 * kHour));
        Session(profile, t0, static_cast<int>(rng() % 14), rng, exps);
      }
    }
    // Sessions across the boundaries of Range(): its pre-period start, its
    // from and its to.
    const auto [from, to] = Range();
    std::mt19937_64 r2(11);
    for (int64_t b : {from - kPrePeriodMs, from, to}) {
      for (int i = 0; i < 4; ++i) {
        Session("q" + std::to_string(i), b - (i + 1) * 10 * kMin, 12, r2,
                {{"exp-x", i % 2 ? "treatment" : "control"}});
      }
    }
    // Mixed profiles: two sessions in two variants; one session whose last
    // event carries the other variant.
    Session("m0", from + 2 * kHour, 5, r2, {{"exp-x", "control"}});
    Session("m0", from + 30 * kHour, 5, r2, {{"exp-x", "treatment"}});
    Session("m1", from + 3 * kHour, 8, r2, {{"exp-x", "control"}});
    events_.back().exps = {{"exp-x", "treatment"}};
  }
  static std::pair<int64_t, int64_t> Range() { return {kStart + 8 * kDay + 5 * kHour, kNow - 20 * kHour}; }
  // The events in batches of 1-120, out of order (each event moved up to 60
  // places back), 3 % delivered twice, some held back to the very end.
  void Load() {
    std::mt19937_64 rng(3);
    std::vector<Ev> order = events_;
    std::sort(order.begin(), order.end(), [](const Ev& a, const Ev& b) { return a.ts < b.ts; });
    for (size_t i = 0; i < order.size(); ++i) {
      std::swap(order[i], order[std::min(order.size() - 1, i + rng() % 60)]);
    }
    std::vector<Ev> late;
    std::vector<Ev> all;
    for (const Ev& e : order) {
      (rng() % 50 == 0 ? late : all).push_back(e);
      if (rng() % 33 == 0) all.push_back(e);
    }
    all.insert(all.end(), late.begin(), late.end());
    int64_t offset = 0;
    for (size_t i = 0; i < all.size();) {
      const size_t n = std::min(all.size() - i, static_cast<size_t>(1 + rng() % 120));
      std::vector<EventView> batch;
      for (size_t k = i; k < i + n; ++k) batch.push_back(all[k].view());
      offset += static_cast<int64_t>(n);
      ASSERT_TRUE(hot_->Append(batch, {{0, offset}}).ok());
      i += n;
    }
  }
  Result<ExperimentReport> Report(const std::string& exp, int64_t from, int64_t to, bool raw) {
    ReportRequest r;
    r.exp_id = exp;
    r.from_ms = from;
    r.to_ms = to;
    r.from_events = raw;
    return service_->Report(r);
  }
  Result<std::string> Users(const std::string& exp, int64_t from, int64_t to, bool raw) {
    ReportRequest r;
    r.exp_id = exp;
    r.from_ms = from;
    r.to_ms = to;
    r.from_events = raw;
    return service_->UsersCsv(r);
  }
  int64_t Covers() {
    auto c = hot_->SummaryCoversFromMs();
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return c.ok() ? c.value() : -1;
  }
  int64_t Scalar(const std::string& sql) {
    auto conn = hot_->Connect();
    auto res = (*conn)->Query(sql);
    EXPECT_TRUE(res.ok()) << sql << ": " << res.status().ToString();
    auto v = res.ok() ? res->ScalarInt() : Result<int64_t>(res.status());
    return v.ok() ? *v : -1;
  }
  // Rows of the summary that a summary built from all events at once lacks
  // (and the reverse), for both tables.
  int64_t SummaryDiff() {
    const std::string sessions = "SELECT session_id, min(profile_id), " + SessionAggColumns() +
                                 " FROM vp.events GROUP BY session_id";
    const std::string exps =
        "SELECT session_id, e.key, min(profile_id), min(ts), min(e.value), min(hash(e.value)), "
        "max(hash(e.value)) FROM (SELECT session_id, profile_id, ts, unnest(map_entries(experiments)) AS e FROM vp.events) "
        "GROUP BY 1, 2";
    auto diff = [&](const std::string& a, const std::string& b) {
      return Scalar("SELECT count(*) FROM ((" + a + ") EXCEPT (" + b + "))");
    };
    return diff("SELECT * FROM vp.sessions", sessions) + diff(sessions, "SELECT * FROM vp.sessions") +
           diff("SELECT * FROM vp.session_exps", exps) + diff(exps, "SELECT * FROM vp.session_exps");
  }

  ScopedTempDir tmp_;
  ManualClock clock_;
  std::unique_ptr<HotTier> hot_;
  std::unique_ptr<ExperimentService> service_;
  std::vector<Ev> events_;
  int sessions_ = 0;
};

void ExpectNear(double a, double b, const std::string& what) {
  if (std::isnan(a) || std::isnan(b)) {
    EXPECT_EQ(std::isnan(a), std::isnan(b)) << what;
    return;
  }
  EXPECT_NEAR(a, b, 1e-9 * std::max(1.0, std::fabs(b))) << what;
}

void ExpectSameReport(const ExperimentReport& s, const ExperimentReport& e) {
  EXPECT_EQ(s.source, "sessions");
  EXPECT_EQ(e.source, "events");
  EXPECT_EQ(s.mixed_users, e.mixed_users);
  ExpectNear(s.srm_p_value, e.srm_p_value, "srm");
  ASSERT_EQ(s.variants.size(), e.variants.size());
  for (size_t v = 0; v < s.variants.size(); ++v) {
    EXPECT_EQ(s.variants[v].variant, e.variants[v].variant);
    EXPECT_EQ(s.variants[v].users, e.variants[v].users);
    for (size_t m = 0; m < s.variants[v].metrics.size(); ++m) {
      const MetricResult &a = s.variants[v].metrics[m], &b = e.variants[v].metrics[m];
      const std::string what = s.variants[v].variant + "/" + a.metric;
      ExpectNear(a.estimate.value, b.estimate.value, what);
      ExpectNear(a.estimate.variance, b.estimate.variance, what + " variance");
      ExpectNear(a.vs_control.p_value, b.vs_control.p_value, what + " p");
      ExpectNear(a.cuped_estimate.value, b.cuped_estimate.value, what + " cuped");
      ExpectNear(a.variance_reduction, b.variance_reduction, what + " cuped reduction");
    }
  }
}

TEST_F(SummaryReportTest, SummaryReportEqualsRawEventReport) {
  Open();
  World();
  Load();
  EXPECT_EQ(SummaryDiff(), 0);
  const auto [from, to] = Range();
  // Each kind of boundary-crossing session is present (else the test
  // would not exercise their handling).
  for (const auto& [name, cond] : CrossingSessionConditions({"exp-x", from, to})) {
    EXPECT_GT(Scalar("SELECT count(*) FROM vp.sessions WHERE " + cond), 0) << name;
  }
  const std::vector<std::pair<int64_t, int64_t>> ranges = {
      {from, to},
      {kStart, kNow},                                     // the whole window
      {from + 3 * kHour + 7 * kMin, from + 5 * kHour},    // short: inside sessions
      {to, to}};
  for (const std::string exp : {"exp-x", "exp-y"}) {
    for (const auto& [a, b] : ranges) {
      SCOPED_TRACE(exp + " [" + std::to_string(a) + ", " + std::to_string(b) + "]");
      auto s = Report(exp, a, b, false), e = Report(exp, a, b, true);
      ASSERT_TRUE(s.ok()) << s.status().ToString();
      ASSERT_TRUE(e.ok()) << e.status().ToString();
      ExpectSameReport(*s, *e);
      auto us = Users(exp, a, b, false), ue = Users(exp, a, b, true);
      ASSERT_TRUE(us.ok() && ue.ok());
      EXPECT_EQ(*us, *ue);  // per user, exactly
    }
  }
  auto s = Report("exp-x", from, to, false);
  ASSERT_TRUE(s.ok());
  EXPECT_GT(s->mixed_users, 0);
  ASSERT_GE(s->variants.size(), 2u);
  EXPECT_GT(s->variants[0].users, 20);
  // Without the crossing sessions' events the per-user table differs: the
  // boundary handling is what makes them equal.
  const ExperimentWindow w{"exp-x", from, to};
  auto total = [&](const std::string& per_user) {
    return Scalar("SELECT CAST(sum(sessions + pre_sessions + watch_s) AS BIGINT) FROM (" +
                  per_user + ") u");
  };
  EXPECT_NE(total(PerUserSqlFromSessions(SessionsFromSummary(w, ""), w)),
            total(PerUserSql("SELECT * FROM vp.events", w)));
}

TEST_F(SummaryReportTest, SummarySurvivesReopenIsRebuiltAndEvicted) {
  Open();
  World();
  Load();
  const int64_t sessions = Scalar("SELECT count(*) FROM vp.sessions");
  EXPECT_EQ(sessions, Scalar("SELECT count(DISTINCT session_id) FROM vp.events"));
  EXPECT_EQ(Covers(), kStart);
  Open();  // reopen: kept as is
  EXPECT_EQ(Scalar("SELECT count(*) FROM vp.sessions"), sessions);
  EXPECT_EQ(SummaryDiff(), 0);
  {  // a database without the summary (an older version): rebuilt on open
    auto conn = hot_->Connect();
    ASSERT_TRUE((*conn)->Execute("DROP TABLE vp.sessions; DROP TABLE vp.session_exps; "
                                 "DROP TABLE vp.summary_meta").ok());
  }
  Open();
  EXPECT_EQ(Scalar("SELECT count(*) FROM vp.sessions"), sessions);
  EXPECT_EQ(SummaryDiff(), 0);
  // Five days later: the events of the first five days leave; their
  // sessions' summaries stay 7 more days.
  clock_.Advance(5 * kDay);
  ASSERT_TRUE(hot_->Evict().ok());
  EXPECT_EQ(Scalar("SELECT count(*) FROM vp.sessions"), sessions);
  EXPECT_EQ(Covers(), kStart);
  // Ten days after that: sessions that ended before the window start - 7
  // days are gone, with their experiment rows.
  clock_.Advance(10 * kDay);
  ASSERT_TRUE(hot_->Evict().ok());
  const int64_t cut = kStart + 8 * kDay;
  EXPECT_EQ(Covers(), cut);
  EXPECT_EQ(Scalar("SELECT count(*) FROM vp.sessions WHERE t1 < " + std::to_string(cut)), 0);
  EXPECT_GT(Scalar("SELECT count(*) FROM vp.sessions"), 0);
  EXPECT_EQ(Scalar("SELECT count(*) FROM vp.session_exps x ANTI JOIN vp.sessions s USING "
                   "(session_id)"), 0);
}

}  // namespace
}  // namespace viewpipe::experiments
