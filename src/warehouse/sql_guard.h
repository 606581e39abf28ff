#pragma once
// SqlGuard: what /v1/query and `viewpipe query` accept, decided by DuckDB's
// own parser. The SQL is serialized to its syntax tree with
// json_serialize_sql (which only serializes SELECT statements); then every
// node is checked:
//   - exactly one statement, a query (SELECT / FROM-first / WITH / UNION
//     / VALUES / DESCRIBE and SUMMARIZE of a query);
//   - the only table it reads is `events` (or its own CTEs): no schema or
//     catalog qualifiers, no table functions (read_parquet, read_csv, glob,
//     duckdb_settings(), query(), ...), no SHOW of the catalog.
// Anything else (INSERT/UPDATE/DELETE, CREATE/DROP, COPY, ATTACH, SET,
// PRAGMA, INSTALL/LOAD, EXPORT, CALL, several statements) is refused with
// a reason. The connection that runs the query is locked down as well
// (hot_tier.h), so a gap here still cannot write or read outside the lake.
//
// From the same tree it derives the QueryShape: the event-time range the
// query can read (from top-level AND-ed comparisons of ts or event_date
// with constants in every SELECT over `events`; anything it cannot prove
// leaves the range open) and the columns it references (for the scan
// accounting).

#include <cstdint>
#include <limits>
#include <set>
#include <string>

#include "common/status.h"

namespace viewpipe {

class DuckConnection;

struct QueryShape {
  int64_t min_ms = std::numeric_limits<int64_t>::min();  // inclusive event-time bounds
  int64_t max_ms = std::numeric_limits<int64_t>::max();
  std::set<std::string> columns;  // logical columns referenced by name
  bool all_columns = false;       // a * somewhere
  bool Bounded() const {
    return min_ms != std::numeric_limits<int64_t>::min() &&
           max_ms != std::numeric_limits<int64_t>::max();
  }
};

// InvalidArgument with a reason when sql is refused. conn only parses.
Result<QueryShape> CheckQuery(DuckConnection* conn, const std::string& sql);

}  // namespace viewpipe
