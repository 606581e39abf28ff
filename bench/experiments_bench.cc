// A/B report benchmark (bench/experiments.sh): one experiment over 7 days
// with --users exposed users, the full report (the one SQL statement of
// experiment_query.h + the statistics) on a hot-tier database (DuckDB table
// vp.events, the hot tier's schema and settings) and on the same events as
// a Parquet lake (ZSTD, one directory per event_date), side by side.
//
// The events are generated inside DuckDB: per user 1-3 sessions spread
// over the 7 days; each session an attempt, then a fatal start error (2 %)
// or play_start, heartbeats every 60 s for 5-34 min (+5 % in treatment),
// a stall in 10 %, and a stop in 93 %. Rows are stored in generation
// order (by user, not by time). (Players send a heartbeat every
// 10 s; thinning them to 60 s keeps the table at ~17 events per session —
// the report's cost grows with the events scanned.)
//
// Prints one JSON line.

#include <algorithm>
#include <cstdlib>
#include <ctime>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "experiments/experiment_query.h"
#include "experiments/experiment_report.h"
#include "experiments/experiment_service.h"
#include "common/clock.h"
#include "lake/duck.h"
#include "lake/lake_schema.h"

using namespace viewpipe;
using namespace viewpipe::experiments;

namespace {

constexpr int64_t kDay = 86400000;
constexpr int64_t kD0 = 20000LL * kDay;  // 2024-10-04

#define CHECK_OK(expr)                                                               \
  do {                                                                               \
    auto _st = (expr);                                                               \
    if (!_st.ok()) {                                                                 \
      std::fprintf(stderr, "%s: %s\n", #expr, _st.ToString().c_str());              \
      std::exit(1);                                                                  \
    }                                                                                \
  } while (0)

std::string GenerateSql(int64_t users) {
  const std::string n = std::to_string(users), d0 = std::to_string(kD0);
  return "CREATE TEMP TABLE s AS SELECT u, k, hash(u * 7 + k) AS h, hash(u) % 2 AS v, " + d0 +
         " + hash(u * 7 + k) % (7 * 86400000 - 4 * 3600000) AS t0, "
         "CAST((5 + (hash(u * 7 + k) >> 20) % 30) * (1 + 0.05 * (hash(u) % 2)) AS INTEGER) AS hb, "
         "(hash(u * 7 + k) >> 40) % 100 AS r FROM range(" + n + ") a(u), range(3) b(k) "
         "WHERE k <= (hash(u) >> 50) % 3;\n"
         "INSERT INTO vp.events (event_id, type, ts, session_id, profile_id, title_id, "
         "device_type, country, cdn, rebuffer_ms, fatal, experiments, received_at, event_date) "
         "SELECT u || '-' || k || '-' || q, type, CAST(ts AS BIGINT), 's' || u || '-' || k, 'p-' || u, 't1', 'tv', "
         "'US', 'cdn-a', rb, fatal, MAP {'exp-bench': CASE WHEN v = 0 THEN 'control' ELSE "
         "'treatment' END}, ts, CAST(epoch_ms(CAST(ts AS BIGINT)) AS DATE) FROM ("
         "SELECT u, k, 0 AS q, 'attempt' AS type, t0 AS ts, NULL AS rb, NULL AS fatal, v FROM s "
         "UNION ALL SELECT u, k, 1, 'error', t0 + 1500, NULL, true, v FROM s WHERE r < 2 "
         "UNION ALL SELECT u, k, 1, 'play_start', t0 + 1000, NULL, NULL, v FROM s WHERE r >= 2 "
         "UNION ALL SELECT u, k, 1 + i, 'heartbeat', t0 + 1000 + i * 60000, NULL, NULL, v "
         "  FROM s, range(1, 40) c(i) WHERE r >= 2 AND i <= hb "
         "UNION ALL SELECT u, k, 50, 'rebuffer_start', t0 + 31000, NULL, NULL, v FROM s "
         "  WHERE r >= 2 AND r < 12 "
         "UNION ALL SELECT u, k, 51, 'rebuffer_end', t0 + 33000, 2000, NULL, v FROM s "
         "  WHERE r >= 2 AND r < 12 "
         "UNION ALL SELECT u, k, 99, 'stop', t0 + 1000 + (hb + 1) * 60000, NULL, NULL, v FROM s "
         "  WHERE r >= 2 AND r < 95) e;\n"
         "DROP TABLE s;";
}

// CPU seconds of this process (all threads): on a machine shared with
// other work, wall time says little; CPU / 2 is what 2 idle cores need.
double CpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

double Seconds(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

const ExperimentWindow kWindow{"exp-bench", kD0, kD0 + 7 * kDay - 1};

struct Timing {
  std::vector<double> wall, cpu;
  int64_t exposed = 0;
  std::string source;
};

// Runs fn (one full report: SQL + statistics) `runs` times.
template <typename F>
Timing Time(int runs, F fn) {
  Timing t;
  for (int i = 0; i < runs; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    const double c0 = CpuSeconds();
    auto report = fn();
    CHECK_OK(report.status());
    t.wall.push_back(Seconds(t0));
    t.cpu.push_back(CpuSeconds() - c0);
    t.exposed = 0;
    for (const VariantResult& v : report->variants) t.exposed += v.users;
    t.source = report->source;
  }
  return t;
}

double Median(std::vector<double> v) {
  if (v.empty()) return -1;  // not run
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Generates the events into dir/hot.duckdb (vp.events) and dir/lake unless
// an earlier run left them there.
void Generate(const std::string& dir, int64_t users, const std::string& memory, bool rebuild,
              double* gen_s, double* lake_s) {
  auto db = DuckDatabase::Open(dir + "/hot.duckdb", {{"threads", "2"}, {"memory_limit", memory}});
  CHECK_OK(db.status());
  auto conn = (*db)->Connect();
  CHECK_OK(conn.status());
  DuckConnection* c = conn->get();
  auto have = c->Query("SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'vp'");
  CHECK_OK(have.status());
  auto tables = have->ScalarInt();
  CHECK_OK(tables.status());
  if (*tables > 0) {
    if (rebuild) {  // the next HotTier::Open builds the summary again (timed)
      CHECK_OK(c->Execute("DROP TABLE IF EXISTS vp.sessions; DROP TABLE IF EXISTS "
                          "vp.session_exps; DROP TABLE IF EXISTS vp.summary_meta; CHECKPOINT;"));
    }
    return;
  }
  auto t0 = std::chrono::steady_clock::now();
  CHECK_OK(c->Execute("CREATE SCHEMA vp; CREATE TABLE vp.events (" + LakeColumnsDdl() +
                      ", event_date DATE);"));
  CHECK_OK(c->Execute(GenerateSql(users)));
  CHECK_OK(c->Execute("CHECKPOINT"));
  *gen_s = Seconds(t0);
  t0 = std::chrono::steady_clock::now();
  CHECK_OK(c->Execute("COPY vp.events TO '" + dir + "/lake' (FORMAT parquet, PARTITION_BY "
                      "(event_date), COMPRESSION zstd, ROW_GROUP_SIZE 1000000)"));
  *lake_s = Seconds(t0);
}

void Explain(DuckConnection* c, const std::string& sql) {
  auto plan = c->Query("EXPLAIN ANALYZE " + sql);
  CHECK_OK(plan.status());
  CHECK_OK(plan->ForEachChunk([](const DuckChunk& ch) {
    for (size_t r = 0; r < ch.rows(); ++r) std::fprintf(stderr, "%s\n", std::string(ch.String(1, r)).c_str());
    return Status::OK();
  }));
}

}  // namespace

int main(int argc, char** argv) {
  int64_t users = 1000000;
  std::string dir = "/tmp/viewpipe-xp-bench";
  int runs = 3, raw_runs = 1;
  std::string memory = "1GB";
  bool rebuild = false;
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "--rebuild-summary") rebuild = true;
  }
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--users") users = std::stoll(argv[i + 1]);
    if (a == "--dir") dir = argv[i + 1];
    if (a == "--runs") runs = std::stoi(argv[i + 1]);
    if (a == "--raw-runs") raw_runs = std::stoi(argv[i + 1]);
    if (a == "--memory-limit") memory = argv[i + 1];
  }
  double gen_s = 0, lake_s = 0;
  Generate(dir, users, memory, rebuild, &gen_s, &lake_s);

  // The real hot tier on that file: opening it builds the session summary
  // from vp.events (the rebuild path of a database without one), timed.
  ManualClock clock(kD0 + 7 * kDay - kDay / 2);  // the window's last day: it starts at kD0
  HotTierOptions ho;
  ho.db_path = dir + "/hot.duckdb";
  ho.lake_root = dir + "/lake";
  ho.clock = &clock;
  ho.hot_days = 7;
  ho.threads = 2;
  ho.memory_limit = memory;
  auto t0 = std::chrono::steady_clock::now();
  const double c0 = CpuSeconds();
  auto hot = HotTier::Open(ho);
  CHECK_OK(hot.status());
  const double open_s = Seconds(t0), open_cpu = CpuSeconds() - c0;
  auto conn = (*hot)->Connect();
  CHECK_OK(conn.status());
  DuckConnection* c = conn->get();
  auto count = [&](const std::string& sql) {
    auto rows = c->Query(sql);
    CHECK_OK(rows.status());
    auto n = rows->ScalarInt();
    CHECK_OK(n.status());
    return *n;
  };
  const int64_t events = count("SELECT count(*) FROM vp.events");
  const int64_t sessions = count("SELECT count(*) FROM vp.sessions");

  ExperimentService service(hot->get(), nullptr, &clock);
  ReportRequest req;
  req.exp_id = kWindow.exp_id;
  req.from_ms = kWindow.from_ms;
  req.to_ms = kWindow.to_ms;
  if (std::getenv("PROFILE") != nullptr) {  // EXPLAIN ANALYZE of both hot reports, to stderr
    Explain(c, ReportSqlFromSessions(SessionsFromSummary(kWindow, ""), kWindow));
    Explain(c, ReportSql("SELECT * FROM vp.events WHERE event_date >= '2024-09-27'", kWindow));
  }
  Timing hot_t = Time(runs, [&] { return service.Report(req); });
  ReportRequest raw_req = req;
  raw_req.from_events = true;
  Timing raw_t = Time(raw_runs, [&] { return service.Report(raw_req); });
  const std::string cold_rel = "SELECT * FROM read_parquet('" + dir +
                               "/lake/*/*.parquet', hive_partitioning = true)";
  Timing cold_t = Time(raw_runs, [&]() -> Result<ExperimentReport> {
    auto sample = QuerySample(c, cold_rel, kWindow);
    if (!sample.ok()) return sample.status();
    return Analyze(*sample, kWindow, {});
  });
  double load[3] = {0, 0, 0};
  if (getloadavg(load, 3) < 1) load[0] = -1;
  std::printf("{\"users_exposed\":%lld,\"users_exposed_raw\":%lld,\"users_exposed_cold\":%lld,"
              "\"events\":%lld,\"sessions\":%lld,\"hot_source\":\"%s\","
              "\"generate_s\":%.1f,\"write_lake_s\":%.1f,\"summary_build_s\":%.1f,"
              "\"summary_build_cpu_s\":%.1f,\"hot_first_s\":%.3f,\"hot_median_s\":%.3f,"
              "\"hot_cpu_median_s\":%.3f,\"runs\":%d,\"hot_raw_median_s\":%.3f,"
              "\"hot_raw_cpu_median_s\":%.3f,\"cold_median_s\":%.3f,\"cold_cpu_median_s\":%.3f,"
              "\"raw_runs\":%d,\"loadavg_1m\":%.1f,\"threads\":2,\"memory_limit\":\"%s\"}\n",
              static_cast<long long>(hot_t.exposed), static_cast<long long>(raw_t.exposed),
              static_cast<long long>(cold_t.exposed), static_cast<long long>(events),
              static_cast<long long>(sessions), hot_t.source.c_str(), gen_s, lake_s, open_s,
              open_cpu, hot_t.wall[0], Median(hot_t.wall), Median(hot_t.cpu), runs,
              Median(raw_t.wall), Median(raw_t.cpu), Median(cold_t.wall), Median(cold_t.cpu),
              raw_runs, load[0], memory.c_str());
  if (raw_runs == 0) return 0;
  return hot_t.exposed == cold_t.exposed && hot_t.exposed == raw_t.exposed ? 0 : 3;
}
