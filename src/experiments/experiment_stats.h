#pragma once
// The statistics of an experiment report, from per-variant sufficient
// statistics only (docs/experiments.md has the formulas):
//   - Welch's t-test and confidence interval for a difference of means
//     (per-user metrics), Welch-Satterthwaite degrees of freedom;
//   - the delta method for ratio metrics (sum of numerators over sum of
//     denominators, users as the unit), normal test and interval;
//   - CUPED: a per-user pre-period covariate with one pooled theta;
//   - the sample-ratio-mismatch chi-square test; Holm's adjusted p-values.
// Distribution functions come from Boost.Math. Results that cannot be
// computed (fewer than 2 users, zero variance, a zero control mean) are NaN
// and become JSON null.

#include <cstdint>
#include <vector>

namespace viewpipe::experiments {

// Sufficient statistics of one metric in one variant. y is the per-user
// value (a ratio metric's numerator), d a ratio metric's denominator, x the
// CUPED covariate (the user's value in the pre-period). var/cov are sample
// (n - 1) moments.
struct MetricSample {
  int64_t n = 0;
  double mean_y = 0, var_y = 0;
  double mean_d = 0, var_d = 0, cov_yd = 0;
  double mean_x = 0, var_x = 0, cov_xy = 0;
};

// One variant's estimate of a metric and the variance of that estimate.
struct Estimate {
  double value = 0;
  double variance = 0;  // of the estimate (squared standard error)
  int64_t n = 0;
  double var_unit = 0;  // per-user variance (Welch's degrees of freedom)
};

// Treatment versus control.
struct Comparison {
  double diff = 0;          // treatment - control
  double ci_low = 0, ci_high = 0;  // 95 %
  double rel = 0;           // diff / control
  double rel_ci_low = 0, rel_ci_high = 0;
  double p_value = 0;
  double df = 0;            // Welch's degrees of freedom (infinity: normal test)
  double se = 0;
};

// Mean of y.
Estimate MeanEstimate(const MetricSample& s);
// mean(y) / mean(d) with its delta-method variance.
Estimate RatioEstimate(const MetricSample& s);
// Welch's t-test (use_t) or a z-test (ratio metrics) of t vs c.
Comparison Compare(const Estimate& c, const Estimate& t, bool use_t);

struct Cuped {
  double theta = 0;
  double mean_x = 0;  // over all users of all variants
};
// theta = pooled within-variant cov(x, y) / var(x).
Cuped FitCuped(const std::vector<MetricSample>& variants);
// The CUPED-adjusted mean estimate of y: mean_y - theta (mean_x - overall mean_x).
Estimate CupedEstimate(const MetricSample& s, const Cuped& c);

// p-value of the chi-square goodness-of-fit test of observed counts
// against expected weights (normalized). NaN when fewer than 2 groups.
double SrmPValue(const std::vector<int64_t>& observed, const std::vector<double>& weights);

// Holm's step-down adjusted p-values (NaN inputs stay NaN and are not
// counted in the family).
std::vector<double> HolmAdjust(const std::vector<double>& p);

// Two-sided 95 % quantile of Student's t with df degrees of freedom
// (the normal one for infinite df).
double TQuantile975(double df);

}  // namespace viewpipe::experiments
