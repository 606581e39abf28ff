#pragma once
// Session summary SQL: the hot tier keeps one row per session (vp.sessions)
// and one per (session, experiment) it carried (vp.session_exps), merged
// batch by batch as events arrive, so an experiment report aggregates
// sessions (~1/20 of the events) instead of raw events
// (docs/experiments.md, "Session summary").
//
// Every column is a mergeable aggregate (min, max, sum, bool_or): the row of
// a session whose events arrived in several batches, in any order, equals
// the row computed from all its events at once. The same column
// definitions (SessionAggColumns) are used by the raw-event report SQL, so
// both give the same numbers.
//
// vp.summary_meta holds covers_from_ms: the summary has every loaded event
// of every session that has an event at or after it (sessions wholly
// before it are evicted; events of days before the hot window are never
// loaded).

#include <cstdint>
#include <string>

namespace viewpipe {

// The pre-period of a report reaches 7 days before its exposure window, so
// summaries are kept 7 days longer than the events.
inline constexpr int64_t kSummaryExtraMs = 7LL * 24 * 3600 * 1000;

// Aggregates per session over rows with the event columns type, ts,
// rebuffer_ms, fatal: "min(ts) AS t0, max(ts) AS t1, ..." (t0, t1,
// attempted, play_t, fatal_error, stop_t, open_pauses, paused_sum,
// open_stalls, last_stall, stall_ms).
std::string SessionAggColumns();
// "t0, t1, attempted, ...": the names of SessionAggColumns, in order.
std::string SessionAggNames();

// CREATE TABLE IF NOT EXISTS of vp.sessions, vp.session_exps, vp.summary_meta.
std::string SessionSummaryDdl();
// Upserts the sessions of `relation` (a SELECT with the event columns,
// experiments as a MAP) into the summary tables.
std::string SessionSummaryMergeSql(const std::string& relation);
// Deletes sessions whose last event is before before_ms and raises
// covers_from_ms to it.
std::string SessionSummaryEvictSql(int64_t before_ms);
// SELECT covers_from_ms (one row when the summary exists).
std::string SessionSummaryCoverageSql();
// Sets covers_from_ms (the first time: at creation or rebuild).
std::string SessionSummarySetCoverageSql(int64_t covers_from_ms);

}  // namespace viewpipe
