// Calibration of the statistics on the simulator's own model (src/sim):
// assignment by Population::Variants (the documented FNV-1a hash, with the
// scenario's split and assignment_bias), per-user watch time drawn as the
// simulator draws a viewer's intended playing time (log-normal, median
// 22 min, sigma 0.9, times Population::WatchTimeFactor: the true effect).
// Many seeds; each run is one experiment of kUsers users.
//
// Bounds: for R runs and a nominal rate q, the count must lie in the
// central 99.9 % interval of Binomial(R, q) (exact quantiles below), so a
// correct implementation fails this test about once in 500 runs of it per
// check, and a test that is biased by a few points fails it almost surely.
#include <gtest/gtest.h>

#include <boost/math/distributions/binomial.hpp>
#include <cmath>
#include <string>

#include "experiments/experiment_stats.h"
#include "sim/population.h"
#include "sim/random.h"

namespace viewpipe::experiments {
namespace {

constexpr int kRuns = 400;
constexpr uint32_t kUsers = 2000;
constexpr double kMedianS = 22 * 60.0, kSigma = 0.9;

// Streaming moments of (x, y).
struct Acc {
  int64_t n = 0;
  double mx = 0, my = 0, sxx = 0, syy = 0, sxy = 0;
  void Add(double x, double y) {
    ++n;
    const double dx = x - mx, dy = y - my;
    mx += dx / static_cast<double>(n);
    my += dy / static_cast<double>(n);
    sxx += dx * (x - mx);
    syy += dy * (y - my);
    sxy += dx * (y - my);
  }
  MetricSample Sample() const {
    MetricSample s;
    s.n = n;
    s.mean_y = my;
    s.mean_x = mx;
    const double d = static_cast<double>(n - 1);
    s.var_y = syy / d;
    s.var_x = sxx / d;
    s.cov_xy = sxy / d;
    return s;
  }
};

sim::ExperimentSpec Spec(int seed, double effect, double bias = 0) {
  sim::ExperimentSpec e{"cal-" + std::to_string(seed), {"control", "treatment"}, {50, 50}, {}};
  if (effect != 0) e.effects.push_back({"treatment", effect, 0.0});
  e.assignment_bias = bias;
  return e;
}

// One run: x = the user's pre-period watch time (same appetite, own
// noise), y = the exposed-period watch time with the true effect.
std::pair<Acc, Acc> RunExperiment(int seed, double effect, uint32_t users, double bias = 0) {
  sim::Population pop(static_cast<uint64_t>(seed), users, {Spec(seed, effect, bias)});
  sim::Rng rng(sim::Hash64(static_cast<uint64_t>(seed), 77));
  Acc acc[2];
  for (uint32_t i = 0; i < users; ++i) {
    const uint64_t v = pop.Variants(i);
    const double appetite = rng.LogNormal(kMedianS, kSigma);
    const double x = appetite * rng.LogNormal(1, 0.3);
    const double y = appetite * rng.LogNormal(1, 0.3) * pop.WatchTimeFactor(v);
    acc[v & 0xF].Add(x, y);
  }
  return {acc[0], acc[1]};
}

// The central 99.9 % interval of Binomial(n, q).
std::pair<double, double> Bounds(int n, double q) {
  boost::math::binomial_distribution<> b(n, q);
  return {boost::math::quantile(b, 0.0005), boost::math::quantile(b, 0.9995)};
}

TEST(CalibrationTest, AaFalsePositiveRateIsFivePercent) {
  int significant = 0;
  for (int seed = 0; seed < kRuns; ++seed) {
    auto [c, t] = RunExperiment(seed, 0.0, kUsers);
    Comparison r = Compare(MeanEstimate(c.Sample()), MeanEstimate(t.Sample()), true);
    significant += r.p_value < 0.05;
  }
  auto [lo, hi] = Bounds(kRuns, 0.05);
  EXPECT_GE(significant, lo);
  EXPECT_LE(significant, hi);
}

// The SRM test itself under independent fair coin flips (not the
// simulator's hash: FNV-1a of "p-NNNNNNNN:exp" % 10000 is over-dispersed
// across neighbouring profile ids, see docs/experiments.md).
TEST(CalibrationTest, SrmFalseAlarmRateUnderAFairSplit) {
  constexpr int kSrmRuns = 4000;
  int flagged = 0, at5 = 0;
  for (int seed = 0; seed < kSrmRuns; ++seed) {
    sim::Rng rng(sim::Hash64(static_cast<uint64_t>(seed), 99));
    int64_t t = 0;
    for (uint32_t i = 0; i < kUsers; ++i) t += rng.Chance(0.5);
    const double p = SrmPValue({kUsers - t, t}, {1, 1});
    flagged += p < 0.001;
    at5 += p < 0.05;
  }
  EXPECT_LE(flagged, Bounds(kSrmRuns, 0.001).second);
  EXPECT_GE(at5, Bounds(kSrmRuns, 0.05).first);
  EXPECT_LE(at5, Bounds(kSrmRuns, 0.05).second);
}

TEST(CalibrationTest, CiCoversTheSimulatorsTrueEffect) {
  // The true absolute effect on the mean: 5 % of the log-normal's mean
  // (appetite x noise: median 22 min, sigma^2 = 0.9^2 + 0.3^2).
  const double mean = kMedianS * std::exp((kSigma * kSigma + 0.09) / 2);
  const double truth = 0.05 * mean;
  int covered = 0, covered_cuped = 0, covered_rel = 0;
  double sum_diff = 0, sum_cuped = 0, var_plain = 0, var_cuped = 0;
  for (int seed = 0; seed < kRuns; ++seed) {
    auto [c, t] = RunExperiment(1000 + seed, 0.05, kUsers);
    Comparison r = Compare(MeanEstimate(c.Sample()), MeanEstimate(t.Sample()), true);
    covered += r.ci_low <= truth && truth <= r.ci_high;
    covered_rel += r.rel_ci_low <= 0.05 && 0.05 <= r.rel_ci_high;
    Cuped k = FitCuped({c.Sample(), t.Sample()});
    Comparison a = Compare(CupedEstimate(c.Sample(), k), CupedEstimate(t.Sample(), k), true);
    covered_cuped += a.ci_low <= truth && truth <= a.ci_high;
    sum_diff += r.diff;
    sum_cuped += a.diff;
    var_plain += r.se * r.se;
    var_cuped += a.se * a.se;
  }
  auto [lo, hi] = Bounds(kRuns, 0.95);
  EXPECT_GE(covered, lo);
  EXPECT_LE(covered, hi);
  EXPECT_GE(covered_cuped, lo);  // (d) CUPED keeps its intervals honest ...
  EXPECT_LE(covered_cuped, hi);
  EXPECT_GE(covered_rel, lo);
  EXPECT_LE(covered_rel, hi);
  // ... is unbiased (mean estimate within 4 standard errors of the mean of
  // kRuns estimates) ...
  const double se_mean = std::sqrt(var_cuped / kRuns) / std::sqrt(kRuns);
  EXPECT_NEAR(sum_cuped / kRuns, truth, 4 * se_mean);
  EXPECT_NEAR(sum_diff / kRuns, truth, 4 * std::sqrt(var_plain / kRuns) / std::sqrt(kRuns));
  // ... and, the pre-period sharing the user's appetite, cuts the variance
  // by most of the appetite's share (0.81 / 0.9 of the log-variance).
  EXPECT_LT(var_cuped / var_plain, 0.5);
}

TEST(CalibrationTest, InjectedAssignmentBiasTripsSrm) {
  // 5 % of the treatment profiles land in control: 47.5 / 52.5.
  auto [c, t] = RunExperiment(7, 0.0, 20000, 0.05);
  EXPECT_LT(SrmPValue({c.n, t.n}, {1, 1}), 0.001);
  EXPECT_GT(c.n, t.n);
  // Without the bias the same users pass.
  auto [c0, t0] = RunExperiment(7, 0.0, 20000, 0.0);
  EXPECT_GT(SrmPValue({c0.n, t0.n}, {1, 1}), 0.001);
}

}  // namespace
}  // namespace viewpipe::experiments
