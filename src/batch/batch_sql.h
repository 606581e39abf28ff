#pragma once
// The SQL of the batch jobs (DuckDB dialect). Column definitions are in
// docs/batch.md; they follow the definitions of spec/events.md.

#include <cstdint>
#include <string>
#include <vector>

namespace viewpipe::batch {

// Ends a playing interval that has no next event within this (the session
// timeout of events.md: three missed heartbeats).
inline constexpr int64_t kMaxPlayingGapMs = 30000;

// One row per session_id of the events in `source` (a table expression over
// the lake's columns), joined with the table `catalog` (title_id, genre,
// kind, duration_s) for completion.
std::string SessionsSql(const std::string& source);
// One row per (profile_id, title_id) of the table `sessions`.
std::string InteractionsSql();
// read_parquet([...]) of the files (DuckDB URIs).
std::string ReadParquetSql(const std::vector<std::string>& uris);
// The columns of SessionsSql that WeeklySql reads (a week's `sessions`
// table holds only these).
std::string WeeklySessionColumns();
// Per (dimension in title|genre|country, key) of the table `sessions` (a
// week: WeeklySessionColumns), with `catalog` for genres and `prev` (the previous week's output,
// possibly empty) for the week-over-week change. A viewer's first title of
// a key is that of their earliest started session (ties: the smallest
// title_id, so the result does not depend on row order).
std::string WeeklySql(const std::string& week);
// DDL of an empty `prev` table with the weekly output's columns.
std::string EmptyPrevWeekSql();

}  // namespace viewpipe::batch
