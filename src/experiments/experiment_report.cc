#include "experiments/experiment_report.h"

#include <charconv>
#include <cmath>
#include <numeric>

namespace viewpipe::experiments {
namespace {

Status ResolveControl(const ExperimentSample& s, const ReportOptions& o, size_t* control) {
  std::string want = o.control;
  if (want.empty()) {
    want = s.variants.empty() ? "" : s.variants.front().variant;
    for (const VariantSample& v : s.variants) {
      if (v.variant == "control") want = "control";
    }
  }
  for (size_t i = 0; i < s.variants.size(); ++i) {
    if (s.variants[i].variant == want) {
      *control = i;
      return Status::OK();
    }
  }
  if (s.variants.empty() && o.control.empty()) return Status::OK();
  return Status::InvalidArgument("control variant '" + want + "' has no exposed users");
}

Status Srm(const ExperimentSample& s, const ReportOptions& o, ExperimentReport* r) {
  std::vector<int64_t> observed;
  for (const VariantSample& v : s.variants) observed.push_back(v.users);
  std::vector<double> w = o.split;
  r->split_source = w.empty() ? "equal" : "request";
  if (w.empty()) w.assign(observed.size(), 1.0);
  if (w.size() != observed.size()) {
    return Status::InvalidArgument("split has " + std::to_string(w.size()) +
                                   " weights, the data has " + std::to_string(observed.size()) +
                                   " variants");
  }
  const double total = std::accumulate(w.begin(), w.end(), 0.0);
  for (double x : w) r->expected_split.push_back(total > 0 ? x / total : 0);
  r->srm_p_value = SrmPValue(observed, w);
  r->srm_flagged = std::isfinite(r->srm_p_value) && r->srm_p_value < kSrmAlpha;
  return Status::OK();
}

MetricResult AnalyzeMetric(const ExperimentSample& s, size_t m, size_t v, size_t control) {
  const MetricDef& def = Metrics()[m];
  const MetricSample& ms = s.variants[v].metrics[m];
  const MetricSample& mc = s.variants[control].metrics[m];
  MetricResult r;
  r.metric = std::string(def.name);
  auto estimate = [&](const MetricSample& x) {
    return def.ratio ? RatioEstimate(x) : MeanEstimate(x);
  };
  r.estimate = estimate(ms);
  r.has_comparison = v != control;
  if (r.has_comparison) r.vs_control = Compare(estimate(mc), r.estimate, !def.ratio);
  if (def.x.empty()) return r;
  std::vector<MetricSample> all;
  for (const VariantSample& vs : s.variants) all.push_back(vs.metrics[m]);
  const Cuped cuped = FitCuped(all);
  r.has_cuped = true;
  r.cuped_theta = cuped.theta;
  r.cuped_estimate = CupedEstimate(ms, cuped);
  if (r.has_comparison) {
    r.cuped_vs_control = Compare(CupedEstimate(mc, cuped), r.cuped_estimate, true);
    const double plain = r.vs_control.se * r.vs_control.se;
    const double adj = r.cuped_vs_control.se * r.cuped_vs_control.se;
    r.variance_reduction = plain > 0 ? 1 - adj / plain : std::nan("");
  }
  return r;
}

void AdjustHolm(ExperimentReport* r) {
  std::vector<double> p;
  for (const VariantResult& v : r->variants) {
    for (const MetricResult& m : v.metrics) {
      if (m.has_comparison) p.push_back(m.vs_control.p_value);
    }
  }
  std::vector<double> adj = HolmAdjust(p);
  r->family_size = 0;
  for (double x : p) r->family_size += std::isfinite(x) ? 1 : 0;
  size_t i = 0;
  for (VariantResult& v : r->variants) {
    for (MetricResult& m : v.metrics) {
      if (m.has_comparison) m.p_holm = adj[i++];
    }
  }
}

}  // namespace

Result<ExperimentReport> Analyze(const ExperimentSample& sample, const ExperimentWindow& window,
                                 const ReportOptions& options) {
  ExperimentReport r;
  r.experiment = window.exp_id;
  r.from_ms = window.from_ms;
  r.to_ms = window.to_ms;
  r.mixed_users = sample.mixed_users;
  size_t control = 0;
  VP_RETURN_IF_ERROR(ResolveControl(sample, options, &control));
  if (!sample.variants.empty()) r.control = sample.variants[control].variant;
  VP_RETURN_IF_ERROR(Srm(sample, options, &r));
  for (size_t v = 0; v < sample.variants.size(); ++v) {
    VariantResult vr;
    vr.variant = sample.variants[v].variant;
    vr.users = sample.variants[v].users;
    for (size_t m = 0; m < Metrics().size(); ++m) {
      vr.metrics.push_back(AnalyzeMetric(sample, m, v, control));
    }
    r.variants.push_back(std::move(vr));
  }
  AdjustHolm(&r);
  return r;
}

Result<std::vector<double>> ParseSplit(std::string_view text) {
  std::vector<double> out;
  while (!text.empty()) {
    const size_t comma = text.find(',');
    std::string_view part = text.substr(0, comma);
    double v = 0;
    auto [ptr, ec] = std::from_chars(part.data(), part.data() + part.size(), v);
    if (ec != std::errc() || ptr != part.data() + part.size() || !(v >= 0) || !std::isfinite(v)) {
      return Status::InvalidArgument("split: '" + std::string(part) +
                                     "' is not a non-negative number");
    }
    out.push_back(v);
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  if (out.empty() || std::accumulate(out.begin(), out.end(), 0.0) <= 0) {
    return Status::InvalidArgument("split: give positive weights, e.g. 50,50");
  }
  return out;
}

}  // namespace viewpipe::experiments
