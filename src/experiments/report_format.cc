// ExperimentReport::ToJson and ToText (experiment_report.h).
#include <cmath>
#include <cstdio>

#include "common/json_writer.h"
#include "experiments/experiment_report.h"

namespace viewpipe::experiments {
namespace {

void Key(std::string* out, std::string_view k) {
  if (!out->empty() && out->back() != '{' && out->back() != '[') out->push_back(',');
  AppendJsonString(out, k);
  out->push_back(':');
}
void Num(std::string* out, std::string_view k, double v) {
  Key(out, k);
  AppendJsonDouble(out, v);
}
void Int(std::string* out, std::string_view k, int64_t v) {
  Key(out, k);
  AppendJsonInt(out, v);
}
void Str(std::string* out, std::string_view k, std::string_view v) {
  Key(out, k);
  AppendJsonString(out, v);
}

void ComparisonJson(std::string* out, const Comparison& c, const Estimate& e) {
  Num(out, "mean", e.value);
  Num(out, "se", std::sqrt(e.variance));
  Num(out, "diff", c.diff);
  Key(out, "ci");
  out->push_back('[');
  AppendJsonDouble(out, c.ci_low);
  out->push_back(',');
  AppendJsonDouble(out, c.ci_high);
  out->push_back(']');
  Num(out, "ci_low", c.ci_low);
  Num(out, "ci_high", c.ci_high);
  Num(out, "rel_diff", c.rel);
  Num(out, "rel_ci_low", c.rel_ci_low);
  Num(out, "rel_ci_high", c.rel_ci_high);
  Num(out, "p_value", c.p_value);
  Num(out, "df", std::isinf(c.df) ? std::nan("") : c.df);
  Str(out, "test", std::isinf(c.df) ? "z (delta method)" : "welch t");
}

void MetricJson(std::string* out, const MetricResult& m) {
  Key(out, m.metric);
  out->push_back('{');
  if (m.has_comparison) {
    ComparisonJson(out, m.vs_control, m.estimate);
    Num(out, "p_holm", m.p_holm);
  } else {
    Num(out, "mean", m.estimate.value);
    Num(out, "se", std::sqrt(m.estimate.variance));
  }
  if (m.has_cuped) {
    Key(out, "cuped");
    out->push_back('{');
    Num(out, "theta", m.cuped_theta);
    if (m.has_comparison) {
      ComparisonJson(out, m.cuped_vs_control, m.cuped_estimate);
      Num(out, "variance_reduction", m.variance_reduction);
    } else {
      Num(out, "mean", m.cuped_estimate.value);
    }
    out->push_back('}');
  }
  out->push_back('}');
}

void HeadJson(std::string* out, const ExperimentReport& r) {
  Str(out, "experiment", r.experiment);
  Int(out, "from", r.from_ms);
  Int(out, "to", r.to_ms);
  Str(out, "tier", r.tier);
  Str(out, "pre_period", r.pre_period);
  if (!r.source.empty()) Str(out, "source", r.source);
  Str(out, "control", r.control);
  Num(out, "srm_p_value", r.srm_p_value);
  Key(out, "srm");
  out->push_back('{');
  Num(out, "p_value", r.srm_p_value);
  Key(out, "flagged");
  out->append(r.srm_flagged ? "true" : "false");
  Num(out, "alpha", kSrmAlpha);
  Str(out, "expected_split_source", r.split_source);
  Key(out, "expected_split");
  out->push_back('[');
  for (size_t i = 0; i < r.expected_split.size(); ++i) {
    if (i > 0) out->push_back(',');
    AppendJsonDouble(out, r.expected_split[i]);
  }
  out->append("]}");
  Int(out, "mixed_users", r.mixed_users);
  Key(out, "multiple_comparisons");
  out->push_back('{');
  Str(out, "method", "holm");
  Int(out, "family_size", static_cast<int64_t>(r.family_size));
  Str(out, "note", "p_holm adjusts every metric x variant comparison of this report (not CUPED)");
  out->push_back('}');
  Int(out, "elapsed_ms", r.elapsed_ms);
}

}  // namespace

std::string ExperimentReport::ToJson() const {
  std::string out = "{";
  HeadJson(&out, *this);
  Key(&out, "variants");
  out.push_back('[');
  for (const VariantResult& v : variants) {
    if (out.back() != '[') out.push_back(',');
    out.push_back('{');
    Str(&out, "variant", v.variant);
    Int(&out, "users", v.users);
    Key(&out, "metrics");
    out.push_back('{');
    for (const MetricResult& m : v.metrics) MetricJson(&out, m);
    out.append("}}");
  }
  out.append("]}");
  return out;
}

std::string ExperimentReport::ToText() const {
  std::string out;
  char buf[512];
  std::snprintf(buf, sizeof(buf), "experiment %s  [%lld, %lld] ms  tier %s (%s)  control %s\n",
                experiment.c_str(), static_cast<long long>(from_ms),
                static_cast<long long>(to_ms), tier.c_str(),
                source.empty() ? "events" : source.c_str(), control.c_str());
  out += buf;
  std::snprintf(buf, sizeof(buf), "SRM check: p = %.3g (%s split)%s\n", srm_p_value,
                split_source.c_str(),
                srm_flagged ? "  ** SAMPLE RATIO MISMATCH: do not trust the results **" : "  ok");
  out += buf;
  std::snprintf(buf, sizeof(buf), "excluded (seen in two variants): %lld profiles\n",
                static_cast<long long>(mixed_users));
  out += buf;
  for (const VariantResult& v : variants) {
    std::snprintf(buf, sizeof(buf), "\n%s: %lld users\n", v.variant.c_str(),
                  static_cast<long long>(v.users));
    out += buf;
    for (const MetricResult& m : v.metrics) {
      std::snprintf(buf, sizeof(buf), "  %-20s %12.6g", m.metric.c_str(), m.estimate.value);
      out += buf;
      if (m.has_comparison) {
        const Comparison& c = m.vs_control;
        std::snprintf(buf, sizeof(buf), "  diff %+.4g [%+.4g, %+.4g] (%+.2f%%)  p %.3g  holm %.3g",
                      c.diff, c.ci_low, c.ci_high, 100 * c.rel, c.p_value, m.p_holm);
        out += buf;
        if (m.has_cuped) {
          const Comparison& k = m.cuped_vs_control;
          std::snprintf(buf, sizeof(buf), "\n  %-20s %12s  diff %+.4g [%+.4g, %+.4g]  p %.3g  "
                        "variance -%.1f%%", "  (CUPED)", "", k.diff, k.ci_low, k.ci_high,
                        k.p_value, 100 * m.variance_reduction);
          out += buf;
        }
      }
      out += '\n';
    }
  }
  std::snprintf(buf, sizeof(buf), "\n%zu comparisons: Holm-adjusted p-values shown (holm)\n",
                family_size);
  out += buf;
  return out;
}

}  // namespace viewpipe::experiments
