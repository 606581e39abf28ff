#include "warehouse/session_summary.h"

#include <vector>

namespace viewpipe {
namespace {

struct AggColumn {
  const char* name;
  const char* type;
  const char* expr;   // over event rows
  const char* merge;  // ON CONFLICT: old value `c`, new `excluded.c`
};

// Playing time of a session without ordering its events
// (docs/experiments.md): sums of pause/resume timestamps and open counts,
// the first play_start, the last stall start, the last stop (completed when
// it is the session's last timestamp).
const std::vector<AggColumn>& Columns() {
  static const std::vector<AggColumn> kColumns = {
      {"t0", "BIGINT", "min(ts)", "least(t0, excluded.t0)"},
      {"t1", "BIGINT", "max(ts)", "greatest(t1, excluded.t1)"},
      {"attempted", "BOOLEAN", "bool_or(type = 'attempt')", "attempted OR excluded.attempted"},
      {"play_t", "BIGINT", "min(CASE WHEN type = 'play_start' THEN ts END)",
       "least(play_t, excluded.play_t)"},
      {"fatal_error", "BOOLEAN", "bool_or(type = 'error' AND coalesce(fatal, false))",
       "fatal_error OR excluded.fatal_error"},
      {"stop_t", "BIGINT", "max(CASE WHEN type = 'stop' THEN ts END)",
       "greatest(stop_t, excluded.stop_t)"},
      {"open_pauses", "BIGINT",
       "CAST(sum(CASE WHEN type = 'pause' THEN 1 WHEN type = 'resume' THEN -1 ELSE 0 END) AS "
       "BIGINT)",
       "open_pauses + excluded.open_pauses"},
      {"paused_sum", "BIGINT",
       "CAST(sum(CASE WHEN type = 'resume' THEN ts WHEN type = 'pause' THEN -ts ELSE 0 END) AS "
       "BIGINT)",
       "paused_sum + excluded.paused_sum"},
      {"open_stalls", "BIGINT",
       "CAST(sum(CASE WHEN type = 'rebuffer_start' THEN 1 WHEN type = 'rebuffer_end' THEN -1 "
       "ELSE 0 END) AS BIGINT)",
       "open_stalls + excluded.open_stalls"},
      {"last_stall", "BIGINT", "max(CASE WHEN type = 'rebuffer_start' THEN ts END)",
       "greatest(last_stall, excluded.last_stall)"},
      {"stall_ms", "BIGINT", "CAST(sum(coalesce(rebuffer_ms, 0)) AS BIGINT)",
       "stall_ms + excluded.stall_ms"},
  };
  return kColumns;
}

template <typename F>
std::string Join(F f) {
  std::string out;
  for (const AggColumn& c : Columns()) out += (out.empty() ? "" : ", ") + f(c);
  return out;
}

}  // namespace

std::string SessionAggColumns() {
  return Join([](const AggColumn& c) { return std::string(c.expr) + " AS " + c.name; });
}

std::string SessionAggNames() {
  return Join([](const AggColumn& c) { return std::string(c.name); });
}

std::string SessionSummaryDdl() {
  return "CREATE TABLE IF NOT EXISTS vp.sessions (session_id VARCHAR PRIMARY KEY, "
         "profile_id VARCHAR, " +
         Join([](const AggColumn& c) { return std::string(c.name) + " " + c.type; }) +
         ");\n"
         "CREATE TABLE IF NOT EXISTS vp.session_exps (session_id VARCHAR, exp_id VARCHAR, "
         "profile_id VARCHAR, first_ts BIGINT, variant VARCHAR, vh_min UBIGINT, vh_max UBIGINT, "
         "PRIMARY KEY (session_id, exp_id));\n"
         "CREATE TABLE IF NOT EXISTS vp.summary_meta (covers_from_ms BIGINT);\n";
}

std::string SessionSummaryMergeSql(const std::string& relation) {
  // least/greatest ignore NULLs: a batch without a play_start keeps play_t.
  return "INSERT INTO vp.sessions SELECT session_id, min(profile_id), " + SessionAggColumns() +
         " FROM (" + relation + ") r GROUP BY session_id ON CONFLICT (session_id) DO UPDATE SET " +
         Join([](const AggColumn& c) { return std::string(c.name) + " = " + c.merge; }) +
         ";\n"
         "INSERT INTO vp.session_exps SELECT session_id, e.key, min(profile_id), min(ts), "
         "min(e.value), min(hash(e.value)), max(hash(e.value)) FROM (SELECT session_id, "
         "profile_id, ts, "
         "unnest(map_entries(experiments)) AS e FROM (" + relation +
         ") r WHERE cardinality(experiments) > 0) x WHERE e.value IS NOT NULL GROUP BY 1, 2 "
         "ON CONFLICT (session_id, exp_id) DO UPDATE SET first_ts = least(first_ts, "
         "excluded.first_ts), variant = least(variant, excluded.variant), vh_min = "
         "least(vh_min, excluded.vh_min), vh_max = greatest(vh_max, excluded.vh_max);\n";
}

std::string SessionSummaryEvictSql(int64_t before_ms) {
  const std::string b = std::to_string(before_ms);
  return "DELETE FROM vp.session_exps WHERE session_id IN (SELECT session_id FROM vp.sessions "
         "WHERE t1 < " + b + ");\nDELETE FROM vp.sessions WHERE t1 < " + b +
         ";\nUPDATE vp.summary_meta SET covers_from_ms = greatest(covers_from_ms, " + b + ");\n";
}

std::string SessionSummaryCoverageSql() { return "SELECT covers_from_ms FROM vp.summary_meta"; }

std::string SessionSummarySetCoverageSql(int64_t covers_from_ms) {
  return "DELETE FROM vp.summary_meta; INSERT INTO vp.summary_meta VALUES (" +
         std::to_string(covers_from_ms) + ");";
}

}  // namespace viewpipe
