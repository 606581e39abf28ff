#pragma once
// QueryRouter: runs read-only SQL over the logical table `events` on the
// tier that holds the range the query reads (api.md, "Tiered queries").
//
//   1. SqlGuard refuses anything but one SELECT over `events` and finds the
//      query's event-time range [min, max];
//   2. the hot window starts at HotTier::WindowStart(): a range inside it
//      runs on the hot tier, one before it on the cold lake, one across
//      the boundary on both — as one DuckDB query over a UNION ALL of the
//      hot days and the cold files, so aggregates merge exactly;
//   3. cold files are pruned by the lake's manifests (days, then hours)
//      before DuckDB sees them: a one-day query from a year ago opens that
//      day's files only;
//   4. `events` becomes a temporary view in a fresh connection of the hot
//      tier's (locked down) database, the query runs with a timeout, and
//      every cell comes back as JSON (DuckDB's to_json).
// Each answer reports tier, bytes_scanned (scan_accounting.h), cost_usd =
// max(cold bytes, min_billed_bytes) x usd_per_tb / 1e12 when lake files
// were read (0 for the provisioned hot tier) and elapsed_ms.
//
// Thread safe: each Run uses its own connection.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "lake/lake_reader.h"
#include "warehouse/hot_tier.h"
#include "warehouse/query_ledger.h"
#include "warehouse/scan_accounting.h"

namespace viewpipe {

struct RouterOptions {
  double usd_per_tb = 5.0;                 // serverless scan price
  uint64_t min_billed_bytes = 10'000'000;  // Athena bills at least 10 MB per query
  size_t max_rows = 10000;                 // rows returned; the rest is cut (truncated: true)
  int64_t timeout_ms = 120000;
};

enum class TierChoice { kAuto, kHot, kCold };

struct QueryRequest {
  std::string sql;
  // kHot / kCold run on that tier only, over all it holds in the range
  // (the hot tier: its window) — for comparisons and benchmarks.
  TierChoice tier = TierChoice::kAuto;
};

struct QueryAnswer {
  std::vector<std::string> columns;
  std::vector<std::string> rows;  // each a JSON array
  std::string tier;               // "hot" | "cold" | "both"
  uint64_t bytes_cold = 0;
  uint64_t bytes_hot = 0;
  double cost_usd = 0;
  int64_t elapsed_ms = 0;
  size_t files_scanned = 0;
  size_t days_scanned = 0;  // cold days
  int64_t range_min_ms = 0, range_max_ms = 0;  // the event-time range found (clamped)
  bool truncated = false;

  uint64_t bytes_scanned() const { return bytes_cold + bytes_hot; }
  // {"columns":[...],"rows":[[...]],"tier":..,"bytes_scanned":..,"cost_usd":..,
  //  "elapsed_ms":..,"bytes_scanned_cold":..,"bytes_scanned_hot":..,
  //  "files_scanned":..,"days_scanned":..,"truncated":..}
  std::string ToJson() const;
};

class QueryRouter {
 public:
  // All pointers must outlive the router; ledger may be null.
  QueryRouter(HotTier* hot, LakeReader* lake, Clock* clock, RouterOptions options,
              QueryLedger* ledger);

  // InvalidArgument: refused or failing SQL (a 400); Aborted: timed out.
  Result<QueryAnswer> Run(const QueryRequest& request);
  const RouterOptions& options() const { return options_; }

 private:
  // Lists the files, defines the view `events`, accounts the bytes, runs.
  Status PlanAndExecute(DuckConnection* conn, const QueryShape& shape, const std::string& sql,
                        EventDate hot_start, QueryAnswer* answer,
                        std::vector<LakeFileRef>* files);
  Status Execute(DuckConnection* conn, const std::string& sql, QueryAnswer* answer);

  HotTier* hot_;
  LakeReader* lake_;
  Clock* clock_;
  RouterOptions options_;
  QueryLedger* ledger_;
  ScanAccountant accountant_;
};

}  // namespace viewpipe
