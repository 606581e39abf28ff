// The report SQL on hand-made events in an in-memory DuckDB: exposure,
// playing time, sessions, the ratio metrics' parts, the pre-period, mixed
// profiles, and the sufficient statistics that leave DuckDB.
#include "experiments/experiment_query.h"

#include <gtest/gtest.h>

#include <map>

#include "experiments/experiment_report.h"
#include "lake/lake_schema.h"

namespace viewpipe::experiments {
namespace {

constexpr int64_t kFrom = 100LL * 86400000;  // day 100
constexpr int64_t kTo = kFrom + 86400000;

class ExperimentQueryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = DuckDatabase::Open("", {{"threads", "1"}});
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(db).value();
    auto conn = db_->Connect();
    ASSERT_TRUE(conn.ok());
    conn_ = std::move(conn).value();
    ASSERT_TRUE(conn_->Execute("CREATE TABLE events (" + LakeColumnsDdl() + ")").ok());
  }
  // One event; variant empty: no experiments; "a|b" gives exp-x=a, exp-y=b.
  void Add(const std::string& profile, const std::string& session, const std::string& type,
           int64_t ts, const std::string& variant, int rebuffer_ms = 0, bool fatal = false) {
    std::string map = variant.empty() ? "MAP {}" : "MAP {'exp-x': " + SqlQuote(variant) + "}";
    std::string sql = "INSERT INTO events (event_id, type, ts, session_id, profile_id, "
                      "rebuffer_ms, fatal, experiments) VALUES (" +
                      SqlQuote(std::to_string(++n_)) + ", " + SqlQuote(type) + ", " +
                      std::to_string(ts) + ", " + SqlQuote(session) + ", " + SqlQuote(profile) +
                      ", " + std::to_string(rebuffer_ms) + ", " + (fatal ? "true" : "false") +
                      ", " + map + ")";
    ASSERT_TRUE(conn_->Execute(sql).ok()) << sql;
  }
  void AddWorld() {
    const int64_t t = kFrom + 3600000;
    // p1 control: 32 s playing (pause and stall excluded), 1 s stalled, completed.
    Add("p1", "s1", "attempt", t, "control");
    Add("p1", "s1", "play_start", t + 1000, "control");
    Add("p1", "s1", "heartbeat", t + 11000, "control");
    Add("p1", "s1", "pause", t + 14000, "control");
    Add("p1", "s1", "heartbeat", t + 17000, "control");
    Add("p1", "s1", "resume", t + 19000, "control");
    Add("p1", "s1", "rebuffer_start", t + 24000, "control");
    Add("p1", "s1", "rebuffer_end", t + 25000, "control", 1000);
    Add("p1", "s1", "stop", t + 39000, "control");
    // p2 treatment: a failed start, then a session that goes silent after a
    // 100 s gap (counted 30 s) and never stops.
    Add("p2", "s2", "attempt", t, "treatment");
    Add("p2", "s2", "error", t + 500, "treatment", 0, true);
    Add("p2", "s3", "attempt", t + 60000, "treatment");
    Add("p2", "s3", "play_start", t + 61000, "treatment");
    Add("p2", "s3", "heartbeat", t + 161000, "treatment");
    // p3 seen in both variants: excluded, counted.
    Add("p3", "s4", "attempt", t, "control");
    Add("p3", "s5", "attempt", t + 5000, "treatment");
    // p4 control: a pre-period session (a day before `from`, 5 s playing),
    // one exposed session with 2 s playing.
    Add("p4", "s6", "attempt", kFrom - 86400000, "control");
    Add("p4", "s6", "play_start", kFrom - 86400000 + 100, "control");
    Add("p4", "s6", "stop", kFrom - 86400000 + 5100, "control");
    Add("p4", "s7", "attempt", t, "control");
    Add("p4", "s7", "play_start", t + 100, "control");
    Add("p4", "s7", "stop", t + 2100, "control");
    // p5: in no experiment. p6: exposed only after `to`.
    Add("p5", "s8", "attempt", t, "");
    Add("p6", "s9", "attempt", kTo + 1, "control");
  }

  std::unique_ptr<DuckDatabase> db_;
  std::unique_ptr<DuckConnection> conn_;
  int n_ = 0;
};

TEST_F(ExperimentQueryTest, PerUserMetricsFollowTheDefinitions) {
  AddWorld();
  auto res = conn_->Query("SELECT profile_id, variant, watch_s, sessions, started, completed, "
                          "failed, stall_ms, stall_play_ms, pre_watch_s, pre_sessions FROM (" +
                          PerUserSql("SELECT * FROM events", {"exp-x", kFrom, kTo}) + ")");
  ASSERT_TRUE(res.ok()) << res.status().ToString();
  std::map<std::string, std::vector<double>> rows;
  ASSERT_TRUE(res->ForEachChunk([&](const DuckChunk& c) {
                   for (size_t r = 0; r < c.rows(); ++r) {
                     std::vector<double>& v = rows[std::string(c.String(0, r)) + "/" +
                                                   std::string(c.String(1, r))];
                     for (size_t i = 2; i < 11; ++i) v.push_back(c.Double(i, r));
                   }
                   return Status::OK();
                 }).ok());
  ASSERT_EQ(rows.size(), 3u);  // p1, p2, p4 (p3 mixed, p5 none, p6 outside)
  EXPECT_EQ(rows["p1/control"], (std::vector<double>{32, 1, 1, 1, 0, 1000, 33000, 0, 0}));
  EXPECT_EQ(rows["p2/treatment"], (std::vector<double>{100, 2, 1, 0, 1, 0, 100000, 0, 0}));
  EXPECT_EQ(rows["p4/control"], (std::vector<double>{2, 1, 1, 1, 0, 0, 2000, 5, 1}));
}

TEST_F(ExperimentQueryTest, SampleHasVariantsMixedAndMoments) {
  AddWorld();
  auto s = QuerySample(conn_.get(), "SELECT * FROM events", {"exp-x", kFrom, kTo});
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->mixed_users, 1);
  ASSERT_EQ(s->variants.size(), 2u);
  EXPECT_EQ(s->variants[0].variant, "control");
  EXPECT_EQ(s->variants[0].users, 2);
  EXPECT_EQ(s->variants[1].users, 1);
  const MetricSample& watch = s->variants[0].metrics[0];  // watch_time_s: 32 and 2
  EXPECT_DOUBLE_EQ(watch.mean_y, 17);
  EXPECT_DOUBLE_EQ(watch.var_y, 450);
  EXPECT_DOUBLE_EQ(watch.mean_x, 2.5);                      // pre: 0 and 5
  EXPECT_DOUBLE_EQ(watch.cov_xy, (15.0 * -2.5 + -15.0 * 2.5) / 1);  // -75
  const MetricSample& completion = s->variants[0].metrics[2];
  EXPECT_DOUBLE_EQ(completion.mean_y, 1);
  EXPECT_DOUBLE_EQ(completion.mean_d, 1);
  const MetricSample& failures = s->variants[1].metrics[4];
  EXPECT_DOUBLE_EQ(failures.mean_y / failures.mean_d, 0.5);

  auto report = Analyze(*s, {"exp-x", kFrom, kTo}, {});
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->control, "control");
  EXPECT_EQ(report->mixed_users, 1);
  EXPECT_NE(report->ToJson().find("\"srm_p_value\":"), std::string::npos);
  EXPECT_FALSE(Analyze(*s, {"exp-x", kFrom, kTo}, {"nope", {}}).ok());
  EXPECT_FALSE(Analyze(*s, {"exp-x", kFrom, kTo}, {"", {1, 1, 1}}).ok());
}

TEST_F(ExperimentQueryTest, EmptyWindowAndListing) {
  AddWorld();
  auto s = QuerySample(conn_.get(), "SELECT * FROM events", {"exp-x", kTo + 10, kTo + 20});
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_TRUE(s->variants.empty());
  EXPECT_EQ(s->mixed_users, 0);
  auto list = ListExperiments(conn_.get(), "SELECT * FROM events");
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].id, "exp-x");
  EXPECT_EQ((*list)[0].variants, (std::vector<std::string>{"control", "treatment"}));
}

// CUPED through the SQL: 400 users whose pre-period playing time (a day
// before `from`) is their appetite a and whose exposed playing time is
// a + noise (+ 5 s in treatment). theta must come out near 1, the variance
// of the difference must fall by most of a's share, and the adjusted
// difference must stay near the true 5 s.
TEST_F(ExperimentQueryTest, CupedUsesThePrePeriodFromTheEvents) {
  const std::string sessions =
      "SELECT i, k, CASE WHEN hash(i) % 2 = 0 THEN 'control' ELSE 'treatment' END AS v, "
      "CASE WHEN k = 0 THEN " + std::to_string(kFrom - 86400000) + " ELSE " +
      std::to_string(kFrom + 3600000) + " END AS t, "
      "CASE WHEN k = 0 THEN 10000 + (hash(i * 3) % 60) * 1000 ELSE 10000 + (hash(i * 3) % 60) * "
      "1000 + (hash(i * 5) % 11) * 1000 + CASE WHEN hash(i) % 2 = 0 THEN 0 ELSE 5000 END END AS "
      "play FROM range(400) a(i), range(2) b(k)";
  const std::string rows =
      "SELECT i, k, 0 AS q, 'attempt' AS type, t AS ts, v FROM s UNION ALL "
      "SELECT i, k, 1, 'play_start', t + 500, v FROM s UNION ALL "
      "SELECT i, k, 2, 'stop', t + 500 + play, v FROM s";
  ASSERT_TRUE(conn_->Execute("CREATE TEMP TABLE s AS " + sessions + "; INSERT INTO events "
                             "(event_id, type, ts, session_id, profile_id, experiments) SELECT "
                             "i || '-' || k || '-' || q, type, ts, i || '-' || k, 'p' || i, "
                             "MAP {'exp-x': v} FROM (" + rows + ")").ok());
  auto s = QuerySample(conn_.get(), "SELECT * FROM events", {"exp-x", kFrom, kTo});
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  auto r = Analyze(*s, {"exp-x", kFrom, kTo}, {});
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->variants.size(), 2u);
  const MetricResult& watch = r->variants[1].metrics[0];
  ASSERT_TRUE(watch.has_cuped);
  EXPECT_NEAR(watch.cuped_theta, 1.0, 0.1);
  EXPECT_GT(watch.variance_reduction, 0.8);  // var(a) = 300 s^2 of ~310
  EXPECT_NEAR(watch.cuped_vs_control.diff, 5.0, 3 * watch.cuped_vs_control.se);
  EXPECT_LT(watch.cuped_vs_control.se, watch.vs_control.se / 2);
}

}  // namespace
}  // namespace viewpipe::experiments
