#pragma once
// The cost report (`viewpipe cost`, GET /v1/cost): what history costs per
// month as stored now, beside the same data kept in one hot warehouse for
// the whole retention, and the scan cost of the queries run so far.
//
//   lake monthly   = lake bytes (committed Parquet) x storage_usd_per_gb_month
//   hot monthly    = hot tier bytes (DuckDB file + WAL) x hot_usd_per_gb_month
//   one warehouse  = every row of the lake at the hot tier's bytes per row
//                    (measured on the rows it holds; the lake's bytes when it
//                    holds none) x hot_usd_per_gb_month
//   queries        = QueryLedger totals (bytes scanned per tier, USD billed)
// GB = 1e9 bytes.

#include <cstdint>
#include <string>

#include "common/status.h"
#include "lake/lake_reader.h"
#include "warehouse/hot_tier.h"
#include "warehouse/query_ledger.h"

namespace viewpipe {

struct CostOptions {
  double storage_usd_per_gb_month = 0.023;  // object storage (S3 standard)
  double hot_usd_per_gb_month = 0.08;       // warehouse / SSD-backed storage
  double scan_usd_per_tb = 5.0;
  uint64_t min_billed_bytes = 10'000'000;
};

struct CostReport {
  int64_t as_of_ms = 0;
  uint64_t lake_bytes = 0;
  int64_t lake_rows = 0, lake_files = 0, lake_days = 0, lake_sealed_days = 0;
  uint64_t hot_bytes = 0;  // 0 when the hot tier could not be opened
  int64_t hot_rows = 0, hot_days = 0;
  bool hot_available = false;
  uint64_t one_warehouse_bytes = 0;
  LedgerTotals queries;
  CostOptions options;

  double LakeMonthlyUsd() const;
  double HotMonthlyUsd() const;
  double OneWarehouseMonthlyUsd() const;
  std::string ToJson() const;
  std::string ToText() const;  // for the terminal
};

// hot and ledger may be null.
Result<CostReport> BuildCostReport(LakeReader* lake, HotTier* hot, QueryLedger* ledger,
                                   const CostOptions& options, int64_t now_ms);

}  // namespace viewpipe
