#pragma once
// ExperimentQuery: the one SQL statement of a report. Exposure, per-user
// metrics and the per-variant sufficient statistics are all computed inside
// DuckDB; only MetricSample rows (n, means, variances, covariances) come
// out. The same per-user table can be exported (PerUserSql) so outside
// tools can check the statistics.
//
// Definitions (docs/experiments.md):
//   - exposure: the profile's first event in [from, to] whose
//     `experiments` map carries exp_id; its variant is that value.
//     Profiles seen with two variants in [from, to] are excluded and
//     counted (mixed_users).
//   - a session belongs to the exposed period when it has an event at or
//     after the exposure (and <= to); to the pre-period when it ended before
//     the exposure and started at most 7 days before it.
//   - playing time of a session: from its first `play_start` to its last
//     event, minus the paused time (pause -> resume, or -> the end) and the
//     stalled time (rebuffer_ms, or rebuffer_start -> the end); computed by
//     hash aggregation, without sorting events (docs/experiments.md).
//
// Thread compatible: one connection per call.

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"
#include "experiments/experiment_stats.h"
#include "lake/duck.h"

namespace viewpipe::experiments {

inline constexpr int64_t kPrePeriodMs = 7LL * 24 * 3600 * 1000;

struct MetricDef {
  std::string_view name;
  bool ratio = false;
  std::string_view y;  // per-user column: the value or the numerator
  std::string_view d;  // ratio metrics: the denominator
  std::string_view x;  // CUPED covariate (empty: none)
  std::string_view unit;
};
// watch_time_s, sessions, completion_rate, rebuffering_ratio,
// start_failure_rate.
const std::vector<MetricDef>& Metrics();

struct VariantSample {
  std::string variant;
  int64_t users = 0;
  std::vector<MetricSample> metrics;  // in Metrics() order
};

struct ExperimentSample {
  std::vector<VariantSample> variants;  // sorted by name
  int64_t mixed_users = 0;
};

struct ExperimentWindow {
  std::string exp_id;
  int64_t from_ms = 0;
  int64_t to_ms = 0;  // inclusive
};

// relation: a SELECT (or table name) with the columns of `events`.
std::string PerUserSql(const std::string& relation, const ExperimentWindow& w);
std::string ReportSql(const std::string& relation, const ExperimentWindow& w);
Result<ExperimentSample> QuerySample(DuckConnection* conn, const std::string& relation,
                                     const ExperimentWindow& w);

// The sessions a report aggregates, as CTE definitions ("name AS (...),\n"
// ...) of `sessions` (one row per session: session_id, profile_id, the
// columns of SessionAggColumns()) and `exposures` (one row per session with
// an event in [from, to] carrying the assignment: profile_id, exp_ts (the
// first such event), vmin (its variant), vmixed (two variants)). From raw
// events (their part in [from - 7 days, to]):
std::string SessionsFromEvents(const std::string& relation, const ExperimentWindow& w);
// From the hot tier's session summary (vp.sessions, vp.session_exps:
// session_summary.h): the sessions wholly inside [from - 7 days, to] that do
// not cross `from`, plus, when crossing_events is not empty,
// SessionsFromEvents of those events (the events of the other sessions
// overlapping the range: CrossingSessionConditions). Same numbers as
// SessionsFromEvents of all events while the summary covers the range.
std::string SessionsFromSummary(const ExperimentWindow& w, const std::string& crossing_events);
// The three disjoint kinds of summary sessions that overlap the range but
// are not wholly inside it or cross `from`: (boundary, condition on t0/t1).
std::vector<std::pair<std::string, std::string>> CrossingSessionConditions(
    const ExperimentWindow& w);
// sessions: the CTEs of SessionsFromEvents or SessionsFromSummary.
std::string PerUserSqlFromSessions(const std::string& sessions, const ExperimentWindow& w);
std::string ReportSqlFromSessions(const std::string& sessions, const ExperimentWindow& w);
Result<ExperimentSample> QuerySampleFromSessions(DuckConnection* conn,
                                                 const std::string& sessions,
                                                 const ExperimentWindow& w);

struct ExperimentInfo {
  std::string id;
  std::vector<std::string> variants;
  int64_t profiles = 0;
  int64_t first_ms = 0, last_ms = 0;
};
// Experiments seen in the relation's events.
Result<std::vector<ExperimentInfo>> ListExperiments(DuckConnection* conn,
                                                    const std::string& relation);

}  // namespace viewpipe::experiments
