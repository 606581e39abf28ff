// The weekly job built from the daily sessions (weekly_sessions.h) gives
// exactly what the weekly definition gives over the week's raw events
// (SessionsSql over the seven days together, then WeeklySql): sessions
// that cross one or two midnights, repeat viewers across days, second
// titles started on another day, live sessions across midnight, and a tie
// of first titles.

#include "batch/batch_sql.h"
#include "batch/batch_test_fixture.h"
#include "lake/lake_reader.h"

namespace viewpipe::batch {
namespace {

struct Spec {
  std::string id, profile, title;
  int64_t t0;
  int play_s;
  std::string live;
};

class WeeklySessionsTest : public BatchFixture {
 protected:
  // Writes and seals the seven days one by one, each with the events of
  // specs that fall into it.
  void WriteWeek(const std::vector<Spec>& specs) {
    for (EventDate d = kMonday; d <= IsoWeek::Of(kMonday).Sunday(); d = d.Next()) {
      for (const Spec& s : specs) {
        AddSession(s.id, s.profile, s.title, s.t0, s.play_s, s.live, d.StartMs(), d.EndMs());
      }
      ASSERT_TRUE(writer_->FlushAndSeal(d, 0).ok());
    }
  }

  // One number of a query over a DuckDB database with the catalog.
  int64_t Scalar(DuckConnection* conn, const std::string& sql) {
    auto r = conn->Query(sql);
    EXPECT_TRUE(r.ok()) << sql << ": " << r.status().ToString();
    if (!r.ok()) return -1;
    auto v = r->ScalarInt();
    return v.ok() ? *v : -1;
  }
};

std::vector<Spec> AWeek() {
  const int64_t h = 3600 * 1000;
  auto day = [](int i) { return EventDate{kMonday.days + i}; };
  std::vector<Spec> specs = {
      {"x-mon-tue", "p-1", "t-0", day(0).EndMs() - 125000, 240, ""},       // crosses midnight
      {"y-tue-wed", "p-2", "t-1", day(1).EndMs() - 60000, 300, "live-1"},  // live, crosses
      {"y-wed-live", "p-8", "t-1", day(2).StartMs() + 60000, 60, "live-1"},
      {"z-thu-sat", "p-4", "t-0", day(3).EndMs() - 10000, 86440, ""},      // two midnights
      {"w-sat-sun", "p-3", "t-9", day(5).EndMs() - 30000, 45, ""},
      {"tie-0", "p-9", "t-0", day(4).StartMs() + 5 * h, 20, ""},           // same start:
      {"tie-1", "p-9", "t-1", day(4).StartMs() + 5 * h, 20, ""},           // first title t-0
      {"tie-later", "p-9", "t-1", day(5).StartMs() + 5 * h, 20, ""},
      {"p2-wed-t0", "p-2", "t-0", day(2).StartMs() + 7 * h, 70, ""},       // after t-1 on Tue
  };
  for (int i = 0; i < 7; ++i) {  // p-1 back on t-0 every day; t-1 by two profiles
    specs.push_back({"a-" + std::to_string(i), "p-1", "t-0", day(i).StartMs() + h, 50 + i, ""});
    specs.push_back({"b-" + std::to_string(i), "p-" + std::to_string(5 + i % 2), "t-1",
                     day(i).StartMs() + 2 * h, 30, ""});
  }
  return specs;
}

TEST_F(WeeklySessionsTest, WeeklyFromDailiesEqualsTheWeeksRawEvents) {
  WriteWeek(AWeek());
  const IsoWeek week = IsoWeek::Of(kMonday);
  BatchRunner runner(Runner(store_.get()));
  auto r = runner.RunWeekly(week, false, "manual");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto db = DuckDatabase::Open("", {});
  ASSERT_TRUE(db.ok());
  auto c = (*db)->Connect();
  ASSERT_TRUE(c.ok());
  DuckConnection* conn = c->get();
  ASSERT_TRUE(conn->Execute("CREATE TABLE catalog AS SELECT * FROM read_csv(" +
                            SqlQuote(tmp_.path() + "/catalog.csv") + ", header = true)").ok());
  // The reference: the week's sessions re-derived from all its raw events.
  LakeReader reader(store_.get());
  auto files = reader.Files(LakeRange{week.Monday().StartMs(), week.Sunday().EndMs() - 1});
  ASSERT_TRUE(files.ok());
  std::vector<std::string> uris;
  for (const LakeFileRef& f : *files) uris.push_back(f.uri);
  ASSERT_TRUE(conn->Execute("CREATE TABLE sessions AS SELECT " + WeeklySessionColumns() +
                            " FROM (" + SessionsSql(ReadParquetSql(uris)) + ")").ok());
  ASSERT_TRUE(conn->Execute(EmptyPrevWeekSql()).ok());
  ASSERT_TRUE(conn->Execute("CREATE TABLE ref AS " + WeeklySql(week.ToString())).ok());
  std::string out = ReadParquetSql({store_->ReadUri(WeeklyPrefix(week) + "part-00000.parquet")});
  ASSERT_TRUE(conn->Execute("CREATE TABLE got AS SELECT * FROM " + out).ok());
  EXPECT_GT(Scalar(conn, "SELECT count(*) FROM ref"), 5);
  EXPECT_EQ(Scalar(conn, "SELECT count(*) FROM got"), Scalar(conn, "SELECT count(*) FROM ref"));
  EXPECT_EQ(Scalar(conn, "SELECT count(*) FROM (FROM ref EXCEPT ALL FROM got)"), 0);
  EXPECT_EQ(Scalar(conn, "SELECT count(*) FROM (FROM got EXCEPT ALL FROM ref)"), 0);

  // The dailies alone are not the week: summing them would count a
  // session that crosses midnight once per day and lose its playing time
  // across midnight (and after it: the playing state carries over).
  std::vector<std::string> daily;
  for (EventDate d = week.Monday(); d <= week.Sunday(); d = d.Next()) {
    daily.push_back(store_->ReadUri(DailyPrefix("sessions", d) + "part-00000.parquet"));
  }
  std::string t0 = "FROM " + ReadParquetSql(daily) + " WHERE title_id = 't-0'";
  std::string got_t0 = "FROM got WHERE dimension = 'title' AND \"key\" = 't-0'";
  EXPECT_EQ(Scalar(conn, "SELECT sessions " + got_t0),
            Scalar(conn, "SELECT count(DISTINCT session_id) " + t0));
  EXPECT_LT(Scalar(conn, "SELECT sessions " + got_t0), Scalar(conn, "SELECT count(*) " + t0));
  EXPECT_GT(Scalar(conn, "SELECT watch_time_ms " + got_t0),
            Scalar(conn, "SELECT sum(watch_time_ms) " + t0));
  // x-mon-tue played 240 s, z-thu-sat 86,440 s, p2-wed-t0 70 s, tie-0 20 s,
  // a-0..a-6 50..56 s.
  EXPECT_EQ(Scalar(conn, "SELECT watch_time_ms " + got_t0),
            (240 + 86440 + 70 + 20 + (50 + 51 + 52 + 53 + 54 + 55 + 56)) * 1000LL);
  // Live: y-tue-wed and y-wed-live overlap after midnight (one session each).
  EXPECT_EQ(Scalar(conn, "SELECT live_peak_concurrency FROM got WHERE \"key\" = 't-1'"), 2);
  // t-1 viewers p-2, p-5, p-6, p-8, p-9: only p-2 went on to another title
  // (t-0 the next day). t-0 viewers p-1, p-2, p-4, p-9: only p-9 went on
  // (t-1 on Saturday; its t-1 of the same instant does not count).
  EXPECT_EQ(Scalar(conn, "SELECT unique_viewers FROM got WHERE \"key\" = 't-1'"), 5);
  EXPECT_EQ(Scalar(conn, "SELECT round(second_start_share * 100) FROM got WHERE \"key\" = 't-1'"),
            20);
  EXPECT_EQ(Scalar(conn, "SELECT round(second_start_share * 100) FROM got "
                         "WHERE \"key\" = 't-0' AND dimension = 'title'"),
            25);
}

}  // namespace
}  // namespace viewpipe::batch
