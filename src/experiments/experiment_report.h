#pragma once
// ExperimentReport: the statistics of one experiment from its sufficient
// statistics (experiment_query.h), as JSON (api.md) or readable text.
// The sample-ratio-mismatch check comes first in both: when it is flagged
// (p < 0.001) the effects below it are not to be trusted.

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "experiments/experiment_query.h"
#include "experiments/experiment_stats.h"

namespace viewpipe::experiments {

inline constexpr double kSrmAlpha = 0.001;

struct ReportOptions {
  std::string control;        // empty: "control" if present, else the first variant
  std::vector<double> split;  // expected weights in variant order; empty: equal split
};

struct MetricResult {
  std::string metric;
  Estimate estimate;
  bool has_comparison = false;  // false for the control
  Comparison vs_control;
  double p_holm = 0;
  bool has_cuped = false;
  Estimate cuped_estimate;
  Comparison cuped_vs_control;
  double cuped_theta = 0;
  double variance_reduction = 0;  // 1 - se^2(CUPED) / se^2(plain) of the difference
};

struct VariantResult {
  std::string variant;
  int64_t users = 0;
  std::vector<MetricResult> metrics;  // Metrics() order
};

struct ExperimentReport {
  std::string experiment;
  int64_t from_ms = 0, to_ms = 0;
  std::string control;
  int64_t mixed_users = 0;
  std::vector<double> expected_split;  // normalized, variant order
  std::string split_source;            // "equal" | "request"
  double srm_p_value = 0;
  bool srm_flagged = false;
  size_t family_size = 0;  // comparisons Holm adjusts over
  std::vector<VariantResult> variants;
  // Filled by the caller.
  std::string tier;
  std::string pre_period;
  std::string source;  // "sessions" (the hot tier's summary) | "events"
  int64_t elapsed_ms = 0;

  std::string ToJson() const;
  std::string ToText() const;
};

// InvalidArgument: a split of the wrong length, an unknown control.
Result<ExperimentReport> Analyze(const ExperimentSample& sample, const ExperimentWindow& window,
                                 const ReportOptions& options);

// "50,50" -> {50, 50}; InvalidArgument for anything else.
Result<std::vector<double>> ParseSplit(std::string_view text);

}  // namespace viewpipe::experiments
