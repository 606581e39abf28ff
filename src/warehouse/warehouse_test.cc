#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <set>

#include "common/scoped_temp_dir.h"
#include "lake/lake_test_util.h"
#include "lake/lake_writer.h"
#include "lake/local_object_store.h"
#include "log/file_log.h"
#include "event/codec.h"
#include "warehouse/hot_processor.h"
#include "warehouse/hot_tier.h"
#include "warehouse/query_router.h"
#include "warehouse/sql_guard.h"

namespace viewpipe {
namespace {

class SqlGuardTest : public ::testing::Test {
 protected:
  SqlGuardTest() {
    db_ = std::move(DuckDatabase::Open("", {})).value();
    conn_ = std::move(db_->Connect()).value();
  }
  Result<QueryShape> Check(const std::string& sql) { return CheckQuery(conn_.get(), sql); }
  std::unique_ptr<DuckDatabase> db_;
  std::unique_ptr<DuckConnection> conn_;
};

TEST_F(SqlGuardTest, RefusesEverythingButOneSelectOverEvents) {
  const char* refused[] = {
      "INSERT INTO events VALUES (1)",
      "UPDATE events SET ts = 1",
      "DELETE FROM events",
      "CREATE TABLE x (a INT)",
      "CREATE VIEW x AS SELECT 1",
      "DROP TABLE vp.events",
      "ALTER TABLE events ADD COLUMN x INT",
      "COPY events TO '/tmp/x.csv'",
      "COPY (SELECT * FROM events) TO '/tmp/x.parquet' (FORMAT parquet)",
      "COPY events FROM '/etc/passwd'",
      "ATTACH '/tmp/other.duckdb' AS other",
      "DETACH other",
      "SET threads = 1",
      "SET enable_external_access = true",
      "RESET lock_configuration",
      "PRAGMA threads = 1",
      "PRAGMA database_list",
      "INSTALL httpfs",
      "LOAD httpfs",
      "EXPORT DATABASE '/tmp/x'",
      "CALL pragma_version()",
      "CHECKPOINT",
      "VACUUM",
      "BEGIN TRANSACTION",
      "USE memory",
      "SELECT * FROM read_parquet('/etc/passwd')",
      "SELECT * FROM read_csv('/etc/passwd')",
      "SELECT * FROM read_csv_auto('/etc/passwd')",
      "SELECT * FROM read_json('/etc/passwd')",
      "SELECT * FROM read_text('/etc/passwd')",
      "SELECT * FROM '/etc/passwd'",
      "SELECT * FROM 'lake/events/event_date=2025-01-01/hour=00/x.parquet'",
      "SELECT * FROM glob('/*')",
      "SELECT * FROM duckdb_settings()",
      "SELECT * FROM duckdb_tables",
      "SELECT * FROM query('SELECT 1')",
      "SELECT * FROM vp.events",
      "SELECT * FROM vp.offsets",
      "SELECT * FROM main.events",
      "SELECT * FROM information_schema.tables",
      "SHOW TABLES",
      "SELECT * FROM events; DROP TABLE vp.events",
      "SELECT 1; SELECT 2",
      "SELECT * FROM events e JOIN offsets o ON true",
      "WITH x AS (SELECT * FROM events) SELECT * FROM x, (SELECT * FROM read_csv('/etc/passwd'))",
      "SELECT (SELECT count(*) FROM read_parquet('/etc/x.parquet'))",
      "not sql at all",
  };
  for (const char* sql : refused) {
    auto r = Check(sql);
    EXPECT_FALSE(r.ok()) << "accepted: " << sql;
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument) << sql;
      EXPECT_FALSE(r.status().message().empty());
    }
  }
  const char* accepted[] = {
      "SELECT count(*) FROM events",
      "select country, count(*) from EVENTS where ts >= 1 group by 1 order by 2 desc",
      "WITH x AS (SELECT * FROM events) SELECT count(*) FROM x",
      "FROM events SELECT title_id LIMIT 3",
      "SELECT experiments['exp-a'] AS v, count(*) FROM events GROUP BY ALL",
      "SELECT 1",
      "SELECT * FROM events UNION ALL SELECT * FROM events",
      "DESCRIBE SELECT * FROM events",
      "SELECT a.title_id FROM events a JOIN events b USING (session_id)",
  };
  for (const char* sql : accepted) EXPECT_TRUE(Check(sql).ok()) << sql << ": " << Check(sql).status().ToString();
  EXPECT_NE(Check("DELETE FROM events").status().message().find("read-only"), std::string::npos);
  EXPECT_NE(Check("SELECT * FROM read_csv('/etc/passwd')").status().message().find("read_csv"),
            std::string::npos);
}

TEST_F(SqlGuardTest, FindsTheEventTimeRange) {
  const int64_t d = kDay0;  // 2025-01-01
  auto shape = Check("SELECT * FROM events WHERE ts >= 1000 AND ts < 2000 AND country = 'US'");
  ASSERT_TRUE(shape.ok());
  EXPECT_EQ(shape->min_ms, 1000);
  EXPECT_EQ(shape->max_ms, 1999);
  EXPECT_TRUE(shape->all_columns);

  shape = Check("SELECT count(*) FROM events WHERE event_date = '2025-01-01'");
  EXPECT_EQ(shape->min_ms, d);
  EXPECT_EQ(shape->max_ms, d + kMsPerDay - 1);
  EXPECT_FALSE(shape->all_columns);
  EXPECT_TRUE(shape->columns.empty() || shape->columns == std::set<std::string>{"event_date"});

  shape = Check("SELECT title_id FROM events e WHERE e.event_date BETWEEN DATE '2025-01-01' "
                "AND DATE '2025-01-03'");
  EXPECT_EQ(shape->min_ms, d);
  EXPECT_EQ(shape->max_ms, d + 3 * kMsPerDay - 1);
  EXPECT_TRUE(shape->columns.count("title_id"));

  shape = Check("SELECT * FROM events WHERE event_date IN ('2025-01-05', '2025-01-02')");
  EXPECT_EQ(shape->min_ms, d + kMsPerDay);
  EXPECT_EQ(shape->max_ms, d + 5 * kMsPerDay - 1);

  shape = Check("SELECT * FROM events WHERE 5000 < ts");  // constant on the left
  EXPECT_EQ(shape->min_ms, 5001);
  EXPECT_FALSE(shape->Bounded());

  // An OR, a function, a JOIN, or one unbounded SELECT: no bound at all.
  for (const char* sql : {"SELECT * FROM events WHERE ts > 5 OR ts < 2",
                          "SELECT * FROM events WHERE ts > epoch_ms(now()) - 1000",
                          "SELECT * FROM events a JOIN events b USING (event_id) WHERE a.ts > 5",
                          "SELECT * FROM events WHERE ts > 5 UNION ALL SELECT * FROM events"}) {
    shape = Check(sql);
    ASSERT_TRUE(shape.ok()) << sql;
    EXPECT_EQ(shape->min_ms, std::numeric_limits<int64_t>::min()) << sql;
  }
  // Two bounded SELECTs: the hull.
  shape = Check("SELECT * FROM events WHERE ts BETWEEN 10 AND 20 UNION ALL "
                "SELECT * FROM events WHERE ts BETWEEN 100 AND 200");
  EXPECT_EQ(shape->min_ms, 10);
  EXPECT_EQ(shape->max_ms, 200);
  // Inside a CTE and the wrapper the router adds.
  shape = Check("SELECT to_json(COLUMNS(*)) FROM (WITH x AS (SELECT * FROM events WHERE "
                "event_date = '2025-01-02') SELECT count(*) FROM x) AS q");
  EXPECT_EQ(shape->min_ms, d + kMsPerDay);
  EXPECT_EQ(shape->max_ms, d + 2 * kMsPerDay - 1);
  // No events at all: an empty range.
  shape = Check("SELECT 1");
  EXPECT_GT(shape->min_ms, shape->max_ms);
}

// A hot tier and a lake holding the same events, with "now" 400 days after
// day 0: day 0 (a year ago and more) and the last ten days.
class TieredTest : public ::testing::Test {
 protected:
  static constexpr int kPerDay = 48;
  TieredTest() : clock_(kDay0 + 400 * kMsPerDay + 12 * kMsPerHour), store_(Env::Default(), tmp_.path() + "/lake") {
    spdlog::set_level(spdlog::level::warn);
    LakeWriterOptions lo;
    lo.store = &store_;
    lo.clock = &clock_;
    lo.parquet.scratch_dir = tmp_.path() + "/scratch";
    lo.parquet.zstd_level = 1;
    writer_ = std::move(LakeWriter::Open(lo)).value();
    HotTierOptions ho;
    ho.db_path = tmp_.path() + "/hot.duckdb";
    ho.lake_root = tmp_.path() + "/lake";
    ho.clock = &clock_;
    ho.hot_days = 7;
    hot_ = std::move(HotTier::Open(ho)).value();
    std::vector<int> days = {0};
    for (int i = 391; i <= 400; ++i) days.push_back(i);
    int n = 0;
    for (int day : days) {
      std::vector<OwnedEvent> owned;
      for (int k = 0; k < kPerDay; ++k, ++n) {
        owned.push_back(MakeEvent(n, kDay0 + day * kMsPerDay + (k % 12) * kMsPerHour + k));
      }
      std::vector<EventView> views;
      for (const OwnedEvent& e : owned) {
        EXPECT_TRUE(writer_->Add(e.view()).ok());
        views.push_back(e.view());
      }
      EXPECT_TRUE(hot_->Append(views, {{0, n}}).ok());
      EXPECT_TRUE(writer_->Flush(nullptr).ok());
    }
    reader_ = std::make_unique<LakeReader>(&store_);
    router_ = std::make_unique<QueryRouter>(hot_.get(), reader_.get(), &clock_, RouterOptions{},
                                            &ledger_);
  }
  QueryAnswer Run(const std::string& sql, TierChoice tier = TierChoice::kAuto) {
    auto a = router_->Run({sql, tier});
    EXPECT_TRUE(a.ok()) << sql << ": " << a.status().ToString();
    return a.ok() ? std::move(a).value() : QueryAnswer{};
  }
  static std::string Day(int d) { return EventDate::OfMs(kDay0 + d * kMsPerDay).ToString(); }

  ScopedTempDir tmp_;
  ManualClock clock_;
  LocalObjectStore store_;
  std::unique_ptr<LakeWriter> writer_;
  std::unique_ptr<HotTier> hot_;
  std::unique_ptr<LakeReader> reader_;
  QueryLedger ledger_{Env::Default(), ""};
  std::unique_ptr<QueryRouter> router_;
};

TEST_F(TieredTest, SameAnswerOnHotColdAndSpanningRanges) {
  const std::string agg =
      "SELECT event_date, country, count(*) AS n, sum(bitrate_kbps) AS kbps, "
      "count(DISTINCT session_id) AS sessions, min(ts) AS first_ts, "
      "max(experiments['exp-row']) AS variant FROM events WHERE ";
  const std::string tail = " GROUP BY ALL ORDER BY ALL";
  // Inside the hot window (the last 7 days).
  std::string hot_sql = agg + "event_date >= '" + Day(396) + "'" + tail;
  QueryAnswer hot = Run(hot_sql);
  EXPECT_EQ(hot.tier, "hot");
  EXPECT_EQ(hot.cost_usd, 0);
  EXPECT_EQ(hot.rows.size(), 5u * 3);
  QueryAnswer hot_on_cold = Run(hot_sql, TierChoice::kCold);
  EXPECT_EQ(hot_on_cold.tier, "cold");
  EXPECT_EQ(hot.rows, hot_on_cold.rows);
  EXPECT_EQ(hot.columns, hot_on_cold.columns);
  // Before the window: the lake only.
  std::string cold_sql = agg + "event_date BETWEEN '" + Day(391) + "' AND '" + Day(393) + "'" + tail;
  QueryAnswer cold = Run(cold_sql);
  EXPECT_EQ(cold.tier, "cold");
  EXPECT_EQ(cold.rows.size(), 3u * 3);
  EXPECT_EQ(cold.days_scanned, 3u);
  // Across the boundary: both, merged, equal to the lake alone.
  std::string both_sql = agg + "ts >= " + std::to_string(kDay0 + 392 * kMsPerDay) + tail;
  QueryAnswer both = Run(both_sql);
  EXPECT_EQ(both.tier, "both");
  EXPECT_EQ(both.rows.size(), 9u * 3);
  EXPECT_EQ(both.rows, Run(both_sql, TierChoice::kCold).rows);
  EXPECT_GT(both.bytes_cold, 0u);
  EXPECT_GT(both.bytes_hot, 0u);
  // Unbounded: both tiers, every day.
  QueryAnswer all = Run("SELECT count(*), count(DISTINCT event_id) FROM events");
  EXPECT_EQ(all.tier, "both");
  EXPECT_EQ(all.rows, std::vector<std::string>{"[528,528]"});
  // Forcing the hot tier: its window only.
  EXPECT_EQ(Run("SELECT count(*) FROM events", TierChoice::kHot).rows,
            std::vector<std::string>{"[336]"});
  EXPECT_EQ(Run(cold_sql, TierChoice::kHot).rows.size(), 0u);
}

TEST_F(TieredTest, AYearOldDayReadsOnlyThatDaysFiles) {
  auto day0 = writer_->committer()->Day(EventDate::OfMs(kDay0));
  ASSERT_TRUE(day0.ok());
  uint64_t day_bytes = day0->Bytes();
  QueryAnswer a = Run("SELECT title_id, count(*) FROM events WHERE event_date = '" + Day(0) +
                      "' GROUP BY 1 ORDER BY 1");
  EXPECT_EQ(a.tier, "cold");
  EXPECT_EQ(a.days_scanned, 1u);
  EXPECT_EQ(a.files_scanned, day0->files.size());
  EXPECT_GT(a.bytes_scanned(), 0u);
  EXPECT_LT(a.bytes_scanned(), day_bytes);  // one column of the day, plus footers
  EXPECT_EQ(a.rows.size(), 7u);
  // Athena's minimum: 10 MB at USD 5 per TB.
  EXPECT_DOUBLE_EQ(a.cost_usd, 10e6 * 5 / 1e12);
  // An hour of that day: that hour's file only.
  QueryAnswer hour = Run("SELECT count(*) FROM events WHERE ts >= " + std::to_string(kDay0 + 3 * kMsPerHour) +
                         " AND ts < " + std::to_string(kDay0 + 4 * kMsPerHour));
  EXPECT_EQ(hour.files_scanned, 1u);
  EXPECT_EQ(hour.rows, std::vector<std::string>{"[4]"});
  auto totals = ledger_.Totals();
  ASSERT_TRUE(totals.ok());
  EXPECT_EQ(totals->queries, 2);
  EXPECT_EQ(totals->cold_queries, 2);
}

TEST_F(TieredTest, RefusesWritesAndOutsideFilesWithClearErrors) {
  for (const char* sql : {"DELETE FROM events", "COPY (SELECT 1) TO '/tmp/x.csv'",
                          "ATTACH '/tmp/x.duckdb'", "SET threads = 1", "PRAGMA version",
                          "LOAD httpfs", "SELECT * FROM read_parquet('/etc/passwd')",
                          "SELECT * FROM read_csv('/etc/passwd')", "SELECT * FROM vp.events"}) {
    auto a = router_->Run({sql, TierChoice::kAuto});
    ASSERT_FALSE(a.ok()) << sql;
    EXPECT_EQ(a.status().code(), Status::Code::kInvalidArgument) << sql;
  }
  // Behind the guard the database itself is locked down.
  auto conn = hot_->Connect();
  ASSERT_TRUE(conn.ok());
  EXPECT_FALSE((*conn)->Execute("SELECT * FROM read_csv('/etc/passwd')").ok());
  EXPECT_FALSE((*conn)->Execute("SET enable_external_access = true").ok());
  EXPECT_FALSE((*conn)->Execute("COPY (SELECT 1) TO '/tmp/viewpipe-x.csv'").ok());
  // A failing query is a 400 with DuckDB's reason.
  auto bad = router_->Run({"SELECT no_such_column FROM events", TierChoice::kAuto});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("no_such_column"), std::string::npos);
}

TEST_F(TieredTest, HotTierIsExactlyOnceAndEvicts) {
  auto offsets = hot_->Offsets();
  ASSERT_TRUE(offsets.ok());
  EXPECT_EQ(offsets->at(0), 528);
  const int64_t today = kDay0 + 400 * kMsPerDay;
  OwnedEvent fresh = MakeEvent(9999, today + 5);
  OwnedEvent dup_today = MakeEvent(500, today + 1);  // ev-500 is already in today's partition
  OwnedEvent old = MakeEvent(1, kDay0 + 10);         // day 0: outside the window
  std::vector<EventView> batch = {fresh.view(), dup_today.view(), old.view()};
  ASSERT_TRUE(hot_->Append(batch, {{0, 531}}).ok());
  EXPECT_EQ(hot_->Offsets()->at(0), 531);
  HotTier::Stats stats = hot_->stats();
  EXPECT_EQ(stats.duplicates, 1u);
  EXPECT_EQ(stats.outside_window, 4u * kPerDay + 1);  // days 0, 391-393 of the setup, and `old`
  auto rows = hot_->RowsPerDay();
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ(rows->size(), 7u);
  int64_t total = 0;
  for (const auto& [d, n] : *rows) total += n;
  EXPECT_EQ(total, 7 * kPerDay + 1);
  // Two days later the window has moved: the two oldest days go.
  clock_.Advance(2 * kMsPerDay);
  ASSERT_TRUE(hot_->Evict().ok());
  EXPECT_EQ(hot_->RowsPerDay()->size(), 5u);
  EXPECT_EQ(hot_->stats().evicted, 2u * kPerDay);
}

// The hot path buffers polled records and loads them at the checkpoint:
// nothing is visible (or recorded as loaded) before it, everything after it,
// a restart before it reads the buffered records again, and a full buffer
// loads at once.
TEST_F(TieredTest, HotProcessorLoadsAtTheCheckpointAndRestartsFromTheTiersOffsets) {
  FileLogOptions lo;
  lo.dir = tmp_.path() + "/log";
  lo.clock = &clock_;
  lo.topics = {{std::string(kTopicViewing), 2}};
  lo.min_free_bytes = 0;
  auto log = FileLog::Open(lo);
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  const int64_t today = kDay0 + 400 * kMsPerDay;
  auto rows_today = [&] { return hot_->RowsPerDay()->at(EventDate::OfMs(today)); };
  const int64_t before = rows_today();
  std::vector<std::string> values;
  std::vector<ConsumedRecord> records;
  for (int i = 0; i < 10; ++i) {
    values.emplace_back();
    EncodeEvent(MakeEvent(20000 + i, today + 100 + i).view(), &values.back());
  }
  for (int i = 0; i < 10; ++i) records.push_back({i % 2, 600 + i / 2, today, "", values[i]});

  auto first = std::make_unique<HotProcessor>(log->get(), std::string(kTopicViewing), hot_.get());
  ASSERT_TRUE(first->Restore().ok());
  ASSERT_TRUE(first->Process(records).ok());
  EXPECT_EQ(rows_today(), before);          // buffered only
  EXPECT_EQ(hot_->Offsets()->at(0), 528);   // the setup's offsets
  // A crash now: a new processor restores the tier's offsets, not the buffer's.
  HotProcessor second(log->get(), std::string(kTopicViewing), hot_.get());
  auto restored = second.Restore();
  ASSERT_TRUE(restored.ok());
  EXPECT_EQ(restored->at(0), 528);
  EXPECT_EQ(restored->at(1), 0);
  first.reset();
  ASSERT_TRUE(second.Process(records).ok());
  ASSERT_TRUE(second.Checkpoint({{0, 605}, {1, 605}}).ok());
  EXPECT_EQ(rows_today(), before + 10);
  EXPECT_EQ(hot_->Offsets()->at(0), 605);
  EXPECT_EQ(hot_->Offsets()->at(1), 605);
  ASSERT_TRUE(second.Checkpoint({{0, 605}, {1, 605}}).ok());  // nothing new: no change
  EXPECT_EQ(rows_today(), before + 10);

  // kMaxPendingRecords buffered: loaded without waiting for the checkpoint.
  std::string one;
  EncodeEvent(MakeEvent(30000, today + 500).view(), &one);
  std::vector<ConsumedRecord> many(HotProcessor::kMaxPendingRecords,
                                   ConsumedRecord{0, 0, today, "", one});
  for (size_t i = 0; i < many.size(); ++i) many[i].offset = 605 + static_cast<Offset>(i);
  ASSERT_TRUE(second.Process(many).ok());
  EXPECT_EQ(rows_today(), before + 11);  // the same event id once (the tier dedups)
  EXPECT_EQ(hot_->Offsets()->at(0), 605 + static_cast<Offset>(many.size()));
}

}  // namespace
}  // namespace viewpipe
