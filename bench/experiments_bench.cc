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

// Runs the full report `runs` times; returns the times (s) and the users.
std::vector<double> Time(DuckConnection* conn, const std::string& relation, int runs,
                         int64_t* exposed, std::vector<double>* cpu) {
  std::vector<double> times;
  const ExperimentWindow w{"exp-bench", kD0, kD0 + 7 * kDay - 1};
  for (int i = 0; i < runs; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    const double c0 = CpuSeconds();
    auto sample = QuerySample(conn, relation, w);
    CHECK_OK(sample.status());
    auto report = Analyze(*sample, w, {});
    CHECK_OK(report.status());
    times.push_back(Seconds(t0));
    cpu->push_back(CpuSeconds() - c0);
    *exposed = 0;
    for (const VariantSample& v : sample->variants) *exposed += v.users;
  }
  return times;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  int64_t users = 1000000;
  std::string dir = "/tmp/viewpipe-xp-bench";
  int runs = 3;
  std::string memory = "1GB";
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--users") users = std::stoll(argv[i + 1]);
    if (a == "--dir") dir = argv[i + 1];
    if (a == "--runs") runs = std::stoi(argv[i + 1]);
    if (a == "--memory-limit") memory = argv[i + 1];
  }
  auto db = DuckDatabase::Open(dir + "/hot.duckdb", {{"threads", "2"}, {"memory_limit", memory}});
  CHECK_OK(db.status());
  auto conn = (*db)->Connect();
  CHECK_OK(conn.status());
  DuckConnection* c = conn->get();
  auto t0 = std::chrono::steady_clock::now();
  double gen_s = 0, lake_s = 0;
  auto have = c->Query("SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'vp'");
  CHECK_OK(have.status());
  auto tables = have->ScalarInt();
  CHECK_OK(tables.status());
  if (*tables == 0) {  // a fresh dir (else: --dir of an earlier run, data reused)
    CHECK_OK(c->Execute("CREATE SCHEMA vp; CREATE TABLE vp.events (" + LakeColumnsDdl() +
                        ", event_date DATE);"));
    CHECK_OK(c->Execute(GenerateSql(users)));
    CHECK_OK(c->Execute("CHECKPOINT"));
    gen_s = Seconds(t0);
    t0 = std::chrono::steady_clock::now();
    CHECK_OK(c->Execute("COPY vp.events TO '" + dir + "/lake' (FORMAT parquet, PARTITION_BY "
                        "(event_date), COMPRESSION zstd, ROW_GROUP_SIZE 1000000)"));
    lake_s = Seconds(t0);
  }
  auto rows = c->Query("SELECT count(*) FROM vp.events");
  CHECK_OK(rows.status());
  auto count = rows->ScalarInt();
  CHECK_OK(count.status());
  const int64_t events = *count;

  if (std::getenv("PROFILE") != nullptr) {  // EXPLAIN ANALYZE of the hot report, to stderr
    const ExperimentWindow w{"exp-bench", kD0, kD0 + 7 * kDay - 1};
    auto plan = c->Query("EXPLAIN ANALYZE " +
                         ReportSql("SELECT * FROM vp.events WHERE event_date >= '2024-09-27'", w));
    CHECK_OK(plan.status());
    CHECK_OK(plan->ForEachChunk([](const DuckChunk& ch) {
      for (size_t r = 0; r < ch.rows(); ++r) std::fprintf(stderr, "%s\n", std::string(ch.String(1, r)).c_str());
      return Status::OK();
    }));
  }
  int64_t hot_users = 0, cold_users = 0;
  const std::string hot_rel = "SELECT * FROM vp.events WHERE event_date >= '2024-09-27'::DATE";
  const std::string cold_rel = "SELECT * FROM read_parquet('" + dir +
                               "/lake/*/*.parquet', hive_partitioning = true)";
  std::vector<double> hot_cpu, cold_cpu;
  std::vector<double> hot = Time(c, hot_rel, runs, &hot_users, &hot_cpu);
  std::vector<double> cold = Time(c, cold_rel, runs, &cold_users, &cold_cpu);
  double load[3] = {0, 0, 0};
  if (getloadavg(load, 3) < 1) load[0] = -1;
  std::printf("{\"users_exposed\":%lld,\"users_exposed_cold\":%lld,\"events\":%lld,"
              "\"generate_s\":%.1f,\"write_lake_s\":%.1f,\"hot_first_s\":%.3f,"
              "\"hot_median_s\":%.3f,\"cold_first_s\":%.3f,\"cold_median_s\":%.3f,\"runs\":%d,"
              "\"hot_cpu_median_s\":%.3f,\"cold_cpu_median_s\":%.3f,\"loadavg_1m\":%.1f,"
              "\"threads\":2,\"memory_limit\":\"%s\"}\n",
              static_cast<long long>(hot_users), static_cast<long long>(cold_users),
              static_cast<long long>(events), gen_s, lake_s, hot[0], Median(hot), cold[0],
              Median(cold), runs, Median(hot_cpu), Median(cold_cpu), load[0], memory.c_str());
  return hot_users == cold_users ? 0 : 3;
}
