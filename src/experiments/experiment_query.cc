#include "experiments/experiment_query.h"

#include <map>

#include "warehouse/session_summary.h"

namespace viewpipe::experiments {

const std::vector<MetricDef>& Metrics() {
  static const std::vector<MetricDef> kMetrics = {
      {"watch_time_s", false, "watch_s", "", "pre_watch_s", "seconds per user"},
      {"sessions", false, "sessions", "", "pre_sessions", "sessions per user"},
      {"completion_rate", true, "completed", "started", "", "stopped / started sessions"},
      {"rebuffering_ratio", true, "stall_ms", "stall_play_ms", "",
       "stalled / (stalled + playing) time"},
      {"start_failure_rate", true, "failed", "sessions", "", "failed starts / attempts"},
  };
  return kMetrics;
}

namespace {

std::string Ms(int64_t v) { return std::to_string(v); }

// The common part of both statements, after the CTEs `sessions` and
// `exposures` (SessionsFromEvents / SessionsFromSummary): per-session
// metrics, then the exposure of each profile.
std::string SessCtes(const std::string& ctes) {
  return "WITH " + ctes +
         "sess AS (SELECT profile_id, t0, t1, attempted, "
         "play_t IS NOT NULL AS started, fatal_error AND play_t IS NULL AS failed, "
         "play_t IS NOT NULL AND stop_t = t1 AS completed, stall_ms, "
         "CASE WHEN play_t IS NULL THEN 0 ELSE greatest(0, t1 - play_t - (paused_sum + CASE WHEN "
         "open_pauses > 0 THEN t1 ELSE 0 END) - stall_ms - CASE WHEN open_stalls > 0 "
         "THEN t1 - last_stall ELSE 0 END) END AS play_ms FROM sessions),\n"
         "assign AS (SELECT profile_id, min(exp_ts) AS exposed_at, any_value(vmin) AS variant, "
         "min(hash(vmin)) <> max(hash(vmin)) OR bool_or(vmixed) AS mixed FROM exposures "
         "GROUP BY profile_id),\n";
}

// One row per session of the relation's events in [from - 7 days, to]:
// one pass of hash aggregation per session (no sort, no window function).
// Only integer and boolean aggregates per session (string aggregates are
// several times slower); `in` marks events in [from, to] that carry the
// assignment.
std::string RawSessionsSelect(const std::string& relation, const ExperimentWindow& w) {
  const std::string exp = SqlQuote(w.exp_id);
  const std::string lo = Ms(w.from_ms - kPrePeriodMs), from = Ms(w.from_ms), to = Ms(w.to_ms);
  const std::string in = "variant IS NOT NULL AND ts >= " + from;
  return "SELECT session_id, first(profile_id) AS profile_id, " + SessionAggColumns() +
         ", min(CASE WHEN " + in + " THEN ts END) AS exp_ts, any_value(CASE WHEN " + in +
         " THEN variant END) AS vmin, min(CASE WHEN " + in + " THEN hash(variant) END) <> "
         "max(CASE WHEN " + in + " THEN hash(variant) END) AS vmixed FROM (SELECT profile_id, "
         "session_id, type, ts, coalesce(rebuffer_ms, 0) AS rebuffer_ms, coalesce(fatal, false) "
         "AS fatal, experiments[" + exp + "] AS variant FROM (" + relation + ") src WHERE ts >= " +
         lo + " AND ts <= " + to + ") ev GROUP BY session_id";
}

std::string RawSessionsCols() { return "session_id, profile_id, " + SessionAggNames(); }
std::string RawExposureCols() { return "profile_id, exp_ts, vmin, vmixed"; }

std::string UsersCte() {
  const std::string post = "s.t1 >= a.exposed_at";
  const std::string pre = "s.t1 < a.exposed_at AND s.t0 >= a.exposed_at - " + Ms(kPrePeriodMs);
  // (Integer-valued doubles: their sums are exact below 2^53, in any order,
  // and cheaper than DuckDB's 128-bit integer sums.)
  auto count = [](const std::string& cond) {
    return "CAST(count(*) FILTER (WHERE " + cond + ") AS DOUBLE)";
  };
  auto sum = [](const std::string& expr, const std::string& cond) {
    return "coalesce(sum(CAST(" + expr + " AS DOUBLE)) FILTER (WHERE " + cond + "), 0)";
  };
  return "users AS (SELECT a.profile_id, a.variant, a.exposed_at, " +
         sum("s.play_ms", post) + " / 1000.0 AS watch_s, " +
         count(post + " AND s.attempted") + " AS sessions, " +
         count(post + " AND s.started") + " AS started, " +
         count(post + " AND s.completed") + " AS completed, " +
         count(post + " AND s.attempted AND s.failed") + " AS failed, " +
         sum("s.stall_ms", post) + " AS stall_ms, " +
         sum("s.stall_ms + s.play_ms", post) + " AS stall_play_ms, " +
         sum("s.play_ms", pre) + " / 1000.0 AS pre_watch_s, " +
         count(pre + " AND s.attempted") + " AS pre_sessions "
         "FROM assign a LEFT JOIN sess s USING (profile_id) WHERE NOT a.mixed "
         "GROUP BY a.profile_id, a.variant, a.exposed_at)\n";
}

// The aggregate columns of the report, in the order ReadSample reads them.
std::vector<std::string> StatColumns() {
  std::vector<std::string> cols;
  for (const MetricDef& m : Metrics()) {
    const std::string y(m.y), d(m.d), x(m.x);
    cols.push_back("avg(" + y + ")");
    cols.push_back("var_samp(" + y + ")");
    if (m.ratio) {
      cols.push_back("avg(" + d + ")");
      cols.push_back("var_samp(" + d + ")");
      cols.push_back("covar_samp(" + y + ", " + d + ")");
    }
    if (!x.empty()) {
      cols.push_back("avg(" + x + ")");
      cols.push_back("var_samp(" + x + ")");
      cols.push_back("covar_samp(" + x + ", " + y + ")");
    }
  }
  return cols;
}

double Cell(const DuckChunk& c, size_t col, size_t row) {
  return c.IsNull(col, row) ? 0.0 : c.Double(col, row);
}

VariantSample ReadVariant(const DuckChunk& c, size_t row) {
  VariantSample v;
  v.variant = std::string(c.String(0, row));
  v.users = c.Int(1, row);
  size_t col = 2;
  for (const MetricDef& m : Metrics()) {
    MetricSample s;
    s.n = v.users;
    s.mean_y = Cell(c, col++, row);
    s.var_y = Cell(c, col++, row);
    if (m.ratio) {
      s.mean_d = Cell(c, col++, row);
      s.var_d = Cell(c, col++, row);
      s.cov_yd = Cell(c, col++, row);
    }
    if (!m.x.empty()) {
      s.mean_x = Cell(c, col++, row);
      s.var_x = Cell(c, col++, row);
      s.cov_xy = Cell(c, col++, row);
    }
    v.metrics.push_back(s);
  }
  return v;
}

}  // namespace

std::string SessionsFromEvents(const std::string& relation, const ExperimentWindow& w) {
  return "raw AS (" + RawSessionsSelect(relation, w) + "),\nsessions AS (SELECT " +
         RawSessionsCols() + " FROM raw),\nexposures AS (SELECT " + RawExposureCols() +
         " FROM raw WHERE exp_ts IS NOT NULL),\n";
}

// A session wholly inside [from - 7 days, to] that does not cross `from`
// has all its events in the range, so its summary row is what
// RawSessionsSelect computes from them. Its exposure: the session_exps row
// whose first event is in [from, to], unless the session crosses a
// boundary (then it is in the crossing events; one that does not, and has
// its first assignment in [from, to], starts at or after from and ends by
// to).
std::string SessionsFromSummary(const ExperimentWindow& w, const std::string& crossing_events) {
  const std::string lo = Ms(w.from_ms - kPrePeriodMs), from = Ms(w.from_ms), to = Ms(w.to_ms);
  std::string crossing;
  for (const auto& [name, cond] : CrossingSessionConditions(w)) {
    crossing += (crossing.empty() ? "(" : " OR (") + cond + ")";
  }
  std::string sessions = "SELECT session_id, profile_id, " + SessionAggNames() +
                         " FROM vp.sessions WHERE t0 >= " + lo + " AND t1 <= " + to +
                         " AND (t0 >= " + from + " OR t1 < " + from + ")";
  std::string exposures =
      "SELECT profile_id, first_ts AS exp_ts, variant AS vmin, vh_min <> vh_max AS vmixed FROM "
      "vp.session_exps WHERE exp_id = " + SqlQuote(w.exp_id) + " AND first_ts >= " + from +
      " AND first_ts <= " + to + " AND session_id NOT IN (SELECT session_id FROM vp.sessions "
      "WHERE " + crossing + ")";
  std::string ctes;
  if (!crossing_events.empty()) {
    ctes = "raw AS (" + RawSessionsSelect(crossing_events, w) + "),\n";
    sessions += " UNION ALL SELECT " + RawSessionsCols() + " FROM raw";
    exposures += " UNION ALL SELECT " + RawExposureCols() + " FROM raw WHERE exp_ts IS NOT NULL";
  }
  return ctes + "sessions AS (" + sessions + "),\nexposures AS (" + exposures + "),\n";
}

std::vector<std::pair<std::string, std::string>> CrossingSessionConditions(
    const ExperimentWindow& w) {
  const std::string lo = Ms(w.from_ms - kPrePeriodMs), from = Ms(w.from_ms), to = Ms(w.to_ms);
  return {{"pre-period start", "t0 < " + lo + " AND t1 >= " + lo},
          {"from", "t0 >= " + lo + " AND t0 < " + from + " AND t1 >= " + from},
          {"to", "t0 >= " + from + " AND t0 <= " + to + " AND t1 > " + to}};
}

std::string PerUserSqlFromSessions(const std::string& sessions, const ExperimentWindow&) {
  return SessCtes(sessions) + UsersCte() + "SELECT * FROM users ORDER BY profile_id";
}

std::string PerUserSql(const std::string& relation, const ExperimentWindow& w) {
  return PerUserSqlFromSessions(SessionsFromEvents(relation, w), w);
}

std::string ReportSql(const std::string& relation, const ExperimentWindow& w) {
  return ReportSqlFromSessions(SessionsFromEvents(relation, w), w);
}

Result<ExperimentSample> QuerySample(DuckConnection* conn, const std::string& relation,
                                     const ExperimentWindow& w) {
  return QuerySampleFromSessions(conn, SessionsFromEvents(relation, w), w);
}

std::string ReportSqlFromSessions(const std::string& sessions, const ExperimentWindow&) {
  std::string stats, nulls;
  for (const std::string& c : StatColumns()) {
    stats += ", " + c;
    nulls += ", NULL";
  }
  // One row per variant, and one (variant NULL) with the mixed profiles.
  return SessCtes(sessions) + UsersCte() + "SELECT variant, count(*) AS users" + stats +
         " FROM users GROUP BY variant\nUNION ALL SELECT NULL, count(*)" + nulls +
         " FROM assign WHERE mixed ORDER BY 1 NULLS LAST";
}

Result<ExperimentSample> QuerySampleFromSessions(DuckConnection* conn,
                                                 const std::string& sessions,
                                                 const ExperimentWindow& w) {
  auto res = conn->Query(ReportSqlFromSessions(sessions, w));
  if (!res.ok()) return res.status();
  ExperimentSample out;
  VP_RETURN_IF_ERROR(res->ForEachChunk([&](const DuckChunk& c) {
    for (size_t r = 0; r < c.rows(); ++r) {
      if (c.IsNull(0, r)) {
        out.mixed_users = c.Int(1, r);
      } else {
        out.variants.push_back(ReadVariant(c, r));
      }
    }
    return Status::OK();
  }));
  return out;
}

Result<std::vector<ExperimentInfo>> ListExperiments(DuckConnection* conn,
                                                    const std::string& relation) {
  auto res = conn->Query(
      "SELECT e.key, e.value, count(DISTINCT profile_id), min(ts), max(ts) FROM (SELECT "
      "profile_id, ts, unnest(map_entries(experiments)) AS e FROM (" + relation +
      ") src WHERE cardinality(experiments) > 0) GROUP BY ALL ORDER BY 1, 2");
  if (!res.ok()) return res.status();
  std::map<std::string, ExperimentInfo> by_id;
  VP_RETURN_IF_ERROR(res->ForEachChunk([&](const DuckChunk& c) {
    for (size_t r = 0; r < c.rows(); ++r) {
      std::string id(c.String(0, r));
      ExperimentInfo& info = by_id[id];
      const bool first = info.id.empty();
      info.id = id;
      info.variants.emplace_back(c.String(1, r));
      info.profiles += c.Int(2, r);
      info.first_ms = first ? c.Int(3, r) : std::min(info.first_ms, c.Int(3, r));
      info.last_ms = first ? c.Int(4, r) : std::max(info.last_ms, c.Int(4, r));
    }
    return Status::OK();
  }));
  std::vector<ExperimentInfo> out;
  for (auto& [id, info] : by_id) out.push_back(std::move(info));
  return out;
}

}  // namespace viewpipe::experiments
