#include "warehouse/cost_report.h"

#include <fmt/format.h>

#include "common/json_writer.h"

namespace viewpipe {
namespace {

double Gb(uint64_t bytes) { return static_cast<double>(bytes) / 1e9; }

std::string Human(uint64_t bytes) {
  const char* units[] = {"B", "KB", "MB", "GB", "TB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1000 && u < 4) {
    v /= 1000;
    ++u;
  }
  return fmt::format("{:.1f} {}", v, units[u]);
}

}  // namespace

double CostReport::LakeMonthlyUsd() const { return Gb(lake_bytes) * options.storage_usd_per_gb_month; }
double CostReport::HotMonthlyUsd() const { return Gb(hot_bytes) * options.hot_usd_per_gb_month; }
double CostReport::OneWarehouseMonthlyUsd() const {
  return Gb(one_warehouse_bytes) * options.hot_usd_per_gb_month;
}

Result<CostReport> BuildCostReport(LakeReader* lake, HotTier* hot, QueryLedger* ledger,
                                   const CostOptions& options, int64_t now_ms) {
  CostReport r;
  r.as_of_ms = now_ms;
  r.options = options;
  auto root = lake->Root();
  if (!root.ok()) return root.status();
  for (const auto& [date, day] : root->days) {
    r.lake_bytes += day.bytes;
    r.lake_rows += day.rows;
    r.lake_files += day.files;
    ++r.lake_days;
    r.lake_sealed_days += day.sealed;
  }
  if (hot != nullptr) {
    auto per_day = hot->RowsPerDay();
    if (per_day.ok()) {
      r.hot_available = true;
      r.hot_bytes = hot->SizeBytes();
      for (const auto& [d, n] : *per_day) {
        r.hot_rows += n;
        ++r.hot_days;
      }
    }
  }
  // The mistake that ships: all retained rows in the hot warehouse.
  if (r.hot_rows > 0) {
    double per_row = static_cast<double>(r.hot_bytes) / static_cast<double>(r.hot_rows);
    int64_t rows = std::max(r.lake_rows, r.hot_rows);
    r.one_warehouse_bytes = static_cast<uint64_t>(per_row * static_cast<double>(rows));
  } else {
    r.one_warehouse_bytes = r.lake_bytes;
  }
  if (ledger != nullptr) {
    auto totals = ledger->Totals();
    if (!totals.ok()) return totals.status();
    r.queries = *totals;
  }
  return r;
}

std::string CostReport::ToJson() const {
  std::string o = "{\"as_of\":";
  AppendJsonInt(&o, as_of_ms);
  auto num = [&](const char* k, double v) {
    o += ",\"";
    o += k;
    o += "\":";
    AppendJsonDouble(&o, v);
  };
  auto i64 = [&](const char* k, int64_t v) {
    o += ",\"";
    o += k;
    o += "\":";
    AppendJsonInt(&o, v);
  };
  o += ",\"lake\":{\"tier\":\"cold\"";
  i64("bytes", static_cast<int64_t>(lake_bytes));
  i64("rows", lake_rows);
  i64("files", lake_files);
  i64("days", lake_days);
  i64("sealed_days", lake_sealed_days);
  num("usd_per_gb_month", options.storage_usd_per_gb_month);
  num("monthly_usd", LakeMonthlyUsd());
  o += "},\"hot\":{\"tier\":\"hot\"";
  o += hot_available ? ",\"available\":true" : ",\"available\":false";
  i64("bytes", static_cast<int64_t>(hot_bytes));
  i64("rows", hot_rows);
  i64("days", hot_days);
  num("usd_per_gb_month", options.hot_usd_per_gb_month);
  num("monthly_usd", HotMonthlyUsd());
  o += "}";
  num("tiered_monthly_usd", LakeMonthlyUsd() + HotMonthlyUsd());
  o += ",\"one_hot_warehouse\":{\"what\":\"every retained row kept in the hot warehouse\"";
  i64("bytes", static_cast<int64_t>(one_warehouse_bytes));
  num("monthly_usd", OneWarehouseMonthlyUsd());
  o += "},\"queries\":{";
  o += "\"count\":";
  AppendJsonInt(&o, queries.queries);
  i64("cold_queries", queries.cold_queries);
  i64("bytes_scanned_cold", static_cast<int64_t>(queries.bytes_cold));
  i64("bytes_scanned_hot", static_cast<int64_t>(queries.bytes_hot));
  num("cost_usd", queries.cost_usd);
  num("usd_per_tb", options.scan_usd_per_tb);
  i64("min_billed_bytes", static_cast<int64_t>(options.min_billed_bytes));
  o += "}}";
  return o;
}

std::string CostReport::ToText() const {
  std::string t;
  t += fmt::format("{:<34} {:>12} {:>14} {:>14}\n", "", "bytes", "USD/GB-month", "USD/month");
  t += fmt::format("{:<34} {:>12} {:>14.3f} {:>14.4f}\n",
                   fmt::format("lake (Parquet, {} days)", lake_days), Human(lake_bytes),
                   options.storage_usd_per_gb_month, LakeMonthlyUsd());
  t += fmt::format("{:<34} {:>12} {:>14.3f} {:>14.4f}\n",
                   fmt::format("hot tier (DuckDB, {} days)", hot_days),
                   hot_available ? Human(hot_bytes) : "n/a", options.hot_usd_per_gb_month,
                   HotMonthlyUsd());
  t += fmt::format("{:<34} {:>12} {:>14} {:>14.4f}\n", "tiered total", "", "",
                   LakeMonthlyUsd() + HotMonthlyUsd());
  t += fmt::format("{:<34} {:>12} {:>14.3f} {:>14.4f}\n", "all history in one hot warehouse",
                   Human(one_warehouse_bytes), options.hot_usd_per_gb_month,
                   OneWarehouseMonthlyUsd());
  t += fmt::format("\nqueries so far: {} ({} read the lake), scanned {} cold + {} hot, "
                   "billed USD {:.6f} (USD {}/TB, {} minimum)\n",
                   queries.queries, queries.cold_queries, Human(queries.bytes_cold),
                   Human(queries.bytes_hot), queries.cost_usd, options.scan_usd_per_tb,
                   Human(options.min_billed_bytes));
  return t;
}

}  // namespace viewpipe
