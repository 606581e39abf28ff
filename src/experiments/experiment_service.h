#pragma once
// ExperimentService: answers the experiment questions of the read API and
// the CLI over the history's storage — the hot tier (its DuckDB database,
// shared with the history module: one connection per call) and, for the
// pre-period before the hot window or an explicit `tier=cold`, the lake's
// Parquet files read by the same DuckDB.
//
// Errors: NotFound for an unknown experiment, InvalidArgument for a bad
// request (from > to, a range outside the hot window without tier=cold, a
// bad split or control).
//
// Thread safe (each call has its own connection).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "experiments/experiment_query.h"
#include "experiments/experiment_report.h"
#include "lake/lake_reader.h"
#include "warehouse/hot_tier.h"

namespace viewpipe::experiments {

enum class ReportTier { kHot, kCold };

struct ReportRequest {
  std::string exp_id;
  std::optional<int64_t> from_ms;  // default: the hot window's start
  std::optional<int64_t> to_ms;    // default: now
  ReportTier tier = ReportTier::kHot;
  // Aggregate raw events even when the session summary covers the range
  // (`source=events`: to compare the two).
  bool from_events = false;
  ReportOptions options;
};

class ExperimentService {
 public:
  // hot and clock must outlive the service; lake may be null (no pre-period
  // before the hot window, no tier=cold).
  ExperimentService(HotTier* hot, LakeReader* lake, Clock* clock)
      : hot_(hot), lake_(lake), clock_(clock) {}

  // {"experiments":[{"id":..,"variants":[..],"assignments":n,"first_ts":..,"last_ts":..}]}
  Result<std::string> ListJson();
  Result<ExperimentReport> Report(const ReportRequest& request);
  // The per-user table of the report as CSV (header line first).
  Result<std::string> UsersCsv(const ReportRequest& request);

 private:
  struct Source {
    std::string relation;
    std::string tier;        // "hot" | "cold"
    std::string pre_period;  // where the pre-period came from
  };
  Result<ExperimentWindow> Window(const ReportRequest& request) const;
  // The events of [min_ms, max_ms] for the request's tier.
  Result<Source> Plan(ReportTier tier, int64_t min_ms, int64_t max_ms);
  // The sessions of the report (SessionsFromSummary when the hot tier's
  // summary covers the range, else SessionsFromEvents); *source says which:
  // "sessions" | "events".
  Result<std::string> Sessions(DuckConnection* conn, const ReportRequest& request,
                               const ExperimentWindow& w, const Source& src, std::string* source);
  Status CheckKnown(DuckConnection* conn, const Source& src, const std::string& exp_id);

  HotTier* hot_;
  LakeReader* lake_;
  Clock* clock_;
};

}  // namespace viewpipe::experiments
