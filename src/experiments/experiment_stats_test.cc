// Statistics against values computed independently with scipy
// (scipy.stats.ttest_ind(equal_var=False), t.ppf, chisquare).
#include "experiments/experiment_stats.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace viewpipe::experiments {
namespace {

MetricSample SampleOf(const std::vector<double>& y) {
  MetricSample s;
  s.n = static_cast<int64_t>(y.size());
  for (double v : y) s.mean_y += v / static_cast<double>(y.size());
  for (double v : y) s.var_y += (v - s.mean_y) * (v - s.mean_y) / static_cast<double>(y.size() - 1);
  return s;
}

TEST(ExperimentStatsTest, WelchMatchesScipy) {
  MetricSample c = SampleOf({1, 2, 3, 4, 10}), t = SampleOf({2, 4, 6, 8, 9, 12});
  Comparison r = Compare(MeanEstimate(c), MeanEstimate(t), true);
  EXPECT_NEAR(r.diff, 41.0 / 6 - 4, 1e-12);
  EXPECT_NEAR(r.df, 8.702286584612038, 1e-9);
  EXPECT_NEAR(r.p_value, 0.22295519016502582, 1e-9);
  EXPECT_NEAR(r.ci_low, -2.076163431931774, 1e-9);
  EXPECT_NEAR(r.ci_high, 7.74283009859844, 1e-9);
  EXPECT_NEAR(r.rel, (41.0 / 6 - 4) / 4, 1e-12);
}

TEST(ExperimentStatsTest, SrmMatchesScipyChiSquare) {
  EXPECT_NEAR(SrmPValue({480, 520}, {1, 1}), 0.20590321073206466, 1e-12);
  EXPECT_NEAR(SrmPValue({100, 300, 600}, {20, 30, 50}), 6.305116760146996e-16, 1e-20);
  EXPECT_TRUE(std::isnan(SrmPValue({10}, {1})));
  EXPECT_TRUE(std::isnan(SrmPValue({10, 10}, {1})));
}

TEST(ExperimentStatsTest, HolmIsStepDownAndMonotone) {
  std::vector<double> adj = HolmAdjust({0.01, 0.04, 0.03, NAN, 0.5});
  // m = 4 finite p-values: sorted 0.01, 0.03, 0.04, 0.5 -> 0.04, 0.09, 0.09, 0.5.
  EXPECT_NEAR(adj[0], 0.04, 1e-12);
  EXPECT_NEAR(adj[2], 0.09, 1e-12);
  EXPECT_NEAR(adj[1], 0.09, 1e-12);  // max(0.09, 2 x 0.04)
  EXPECT_TRUE(std::isnan(adj[3]));
  EXPECT_NEAR(adj[4], 0.5, 1e-12);
}

TEST(ExperimentStatsTest, RatioDeltaMethodMatchesLinearization) {
  // Per-user (num, den); the delta-method variance equals the sample
  // variance of (y - r d) / mean(d), over n.
  std::vector<double> y = {1, 0, 3, 2, 5}, d = {2, 1, 4, 4, 6};
  MetricSample s;
  s.n = 5;
  for (int i = 0; i < 5; ++i) {
    s.mean_y += y[i] / 5;
    s.mean_d += d[i] / 5;
  }
  for (int i = 0; i < 5; ++i) {
    s.var_y += (y[i] - s.mean_y) * (y[i] - s.mean_y) / 4;
    s.var_d += (d[i] - s.mean_d) * (d[i] - s.mean_d) / 4;
    s.cov_yd += (y[i] - s.mean_y) * (d[i] - s.mean_d) / 4;
  }
  Estimate e = RatioEstimate(s);
  const double r = 11.0 / 17.0;
  EXPECT_NEAR(e.value, r, 1e-12);
  std::vector<double> lin(5);
  double mean = 0, var = 0;
  for (int i = 0; i < 5; ++i) mean += (lin[i] = (y[i] - r * d[i]) / s.mean_d) / 5;
  for (int i = 0; i < 5; ++i) var += (lin[i] - mean) * (lin[i] - mean) / 4;
  EXPECT_NEAR(e.variance, var / 5, 1e-12);
  // A zero denominator mean is no estimate.
  s.mean_d = 0;
  EXPECT_TRUE(std::isnan(RatioEstimate(s).value));
}

TEST(ExperimentStatsTest, CupedRemovesThePredictablePart) {
  // y = 2 x + e exactly predictable up to small noise: theta ~ 2 and the
  // adjusted variance is the noise's.
  MetricSample a;
  a.n = 1000;
  a.mean_x = 10;
  a.var_x = 4;
  a.cov_xy = 8;
  a.mean_y = 20;
  a.var_y = 16 + 0.25;
  MetricSample b = a;
  b.mean_x = 10.2;  // treatment happened to get heavier users
  b.mean_y = 20.4 + 1;  // + a true effect of 1
  Cuped c = FitCuped({a, b});
  EXPECT_NEAR(c.theta, 2.0, 1e-12);
  EXPECT_NEAR(c.mean_x, 10.1, 1e-12);
  Estimate ea = CupedEstimate(a, c), eb = CupedEstimate(b, c);
  EXPECT_NEAR(eb.value - ea.value, 1.0, 1e-9);  // the imbalance in x is removed
  EXPECT_NEAR(ea.var_unit, 0.25, 1e-9);
}

TEST(ExperimentStatsTest, DegenerateInputsGiveNanNotCrashes) {
  MetricSample one;
  one.n = 1;
  one.mean_y = 3;
  Comparison r = Compare(MeanEstimate(one), MeanEstimate(one), true);
  EXPECT_TRUE(std::isnan(r.p_value));
  MetricSample flat = SampleOf({2, 2, 2});
  r = Compare(MeanEstimate(flat), MeanEstimate(flat), true);
  EXPECT_TRUE(std::isnan(r.p_value));
}

}  // namespace
}  // namespace viewpipe::experiments
