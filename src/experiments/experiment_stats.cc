#include "experiments/experiment_stats.h"

#include <algorithm>
#include <boost/math/distributions/chi_squared.hpp>
#include <boost/math/distributions/normal.hpp>
#include <boost/math/distributions/students_t.hpp>
#include <cmath>
#include <limits>
#include <numeric>

namespace viewpipe::experiments {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

bool Finite(double v) { return std::isfinite(v); }

// Two-sided p-value of statistic z with df degrees of freedom.
double TwoSidedP(double z, double df) {
  if (!Finite(z) || !(df > 0)) return kNaN;
  double a = std::fabs(z);
  if (df == kInf) return 2 * boost::math::cdf(boost::math::complement(boost::math::normal(), a));
  return 2 * boost::math::cdf(boost::math::complement(boost::math::students_t(df), a));
}

}  // namespace

double TQuantile975(double df) {
  if (!(df > 0)) return kNaN;
  if (df == kInf) return boost::math::quantile(boost::math::normal(), 0.975);
  return boost::math::quantile(boost::math::students_t(df), 0.975);
}

Estimate MeanEstimate(const MetricSample& s) {
  Estimate e;
  e.n = s.n;
  e.value = s.n > 0 ? s.mean_y : kNaN;
  e.var_unit = s.n > 1 ? s.var_y : kNaN;
  e.variance = s.n > 1 ? s.var_y / static_cast<double>(s.n) : kNaN;
  return e;
}

Estimate RatioEstimate(const MetricSample& s) {
  Estimate e;
  e.n = s.n;
  if (s.n < 1 || s.mean_d == 0) {
    e.value = e.variance = e.var_unit = kNaN;
    return e;
  }
  const double md = s.mean_d, r = s.mean_y / md;
  e.value = r;
  // Var(mean_y / mean_d) ~ (var_y - 2 r cov + r^2 var_d) / (n md^2).
  e.var_unit = s.n > 1 ? (s.var_y - 2 * r * s.cov_yd + r * r * s.var_d) / (md * md) : kNaN;
  e.variance = e.var_unit / static_cast<double>(s.n);
  return e;
}

Comparison Compare(const Estimate& c, const Estimate& t, bool use_t) {
  Comparison out;
  out.diff = t.value - c.value;
  const double se2 = c.variance + t.variance;
  out.se = std::sqrt(se2);
  if (use_t && c.n > 1 && t.n > 1) {
    const double a = c.variance, b = t.variance;
    const double denom = a * a / static_cast<double>(c.n - 1) + b * b / static_cast<double>(t.n - 1);
    out.df = denom > 0 ? se2 * se2 / denom : kNaN;
  } else {
    out.df = use_t ? kNaN : kInf;
  }
  const bool ok = Finite(out.se) && out.se > 0;
  const double q = ok ? TQuantile975(out.df) : kNaN;
  out.ci_low = out.diff - q * out.se;
  out.ci_high = out.diff + q * out.se;
  out.p_value = ok ? TwoSidedP(out.diff / out.se, out.df) : kNaN;
  // Relative difference t/c - 1 with the delta method on the two
  // independent estimates; normal interval.
  if (c.value != 0 && Finite(c.value)) {
    out.rel = out.diff / c.value;
    const double vrel = t.variance / (c.value * c.value) +
                        t.value * t.value * c.variance / std::pow(c.value, 4);
    const double z = TQuantile975(kInf) * std::sqrt(vrel);
    out.rel_ci_low = out.rel - z;
    out.rel_ci_high = out.rel + z;
  } else {
    out.rel = out.rel_ci_low = out.rel_ci_high = kNaN;
  }
  return out;
}

Cuped FitCuped(const std::vector<MetricSample>& variants) {
  double cov = 0, var = 0, sum_x = 0;
  int64_t n = 0;
  for (const MetricSample& s : variants) {
    if (s.n < 1) continue;
    sum_x += s.mean_x * static_cast<double>(s.n);
    n += s.n;
    if (s.n < 2) continue;
    cov += static_cast<double>(s.n - 1) * s.cov_xy;
    var += static_cast<double>(s.n - 1) * s.var_x;
  }
  Cuped c;
  c.theta = var > 0 ? cov / var : 0.0;
  c.mean_x = n > 0 ? sum_x / static_cast<double>(n) : 0.0;
  return c;
}

Estimate CupedEstimate(const MetricSample& s, const Cuped& c) {
  Estimate e = MeanEstimate(s);
  if (s.n < 1) return e;
  e.value = s.mean_y - c.theta * (s.mean_x - c.mean_x);
  if (s.n > 1) {
    e.var_unit = std::max(0.0, s.var_y + c.theta * c.theta * s.var_x - 2 * c.theta * s.cov_xy);
    e.variance = e.var_unit / static_cast<double>(s.n);
  }
  return e;
}

double SrmPValue(const std::vector<int64_t>& observed, const std::vector<double>& weights) {
  if (observed.size() < 2 || observed.size() != weights.size()) return kNaN;
  const double total = static_cast<double>(std::accumulate(observed.begin(), observed.end(), 0LL));
  const double wsum = std::accumulate(weights.begin(), weights.end(), 0.0);
  if (total <= 0 || !(wsum > 0)) return kNaN;
  double chi2 = 0;
  for (size_t i = 0; i < observed.size(); ++i) {
    const double e = total * weights[i] / wsum;
    if (!(e > 0)) return observed[i] > 0 ? 0.0 : kNaN;
    const double d = static_cast<double>(observed[i]) - e;
    chi2 += d * d / e;
  }
  const boost::math::chi_squared dist(static_cast<double>(observed.size() - 1));
  return boost::math::cdf(boost::math::complement(dist, chi2));
}

std::vector<double> HolmAdjust(const std::vector<double>& p) {
  std::vector<size_t> order;
  for (size_t i = 0; i < p.size(); ++i) {
    if (Finite(p[i])) order.push_back(i);
  }
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return p[a] < p[b]; });
  std::vector<double> out(p.size(), kNaN);
  const double m = static_cast<double>(order.size());
  double running = 0;
  for (size_t k = 0; k < order.size(); ++k) {
    running = std::max(running, std::min(1.0, (m - static_cast<double>(k)) * p[order[k]]));
    out[order[k]] = running;
  }
  return out;
}

}  // namespace viewpipe::experiments
