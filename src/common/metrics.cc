#include "common/metrics.h"

#include <algorithm>
#include <charconv>
#include <cmath>

namespace viewpipe {

void Gauge::Add(double d) {
  double cur = v_.load(std::memory_order_relaxed);
  while (!v_.compare_exchange_weak(cur, cur + d, std::memory_order_relaxed)) {
  }
}

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)),
      buckets_(new std::atomic<uint64_t>[bounds_.size() + 1]) {
  for (size_t i = 0; i <= bounds_.size(); ++i) buckets_[i].store(0);
}

void Histogram::Observe(double v) {
  size_t i = static_cast<size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), v) -
                                 bounds_.begin());
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  double cur = sum_.load(std::memory_order_relaxed);
  while (!sum_.compare_exchange_weak(cur, cur + v, std::memory_order_relaxed)) {
  }
}

double Histogram::Quantile(double q) const {
  uint64_t total = Count();
  if (total == 0) return 0;
  uint64_t rank = static_cast<uint64_t>(std::ceil(q * static_cast<double>(total)));
  uint64_t seen = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    seen += BucketCount(i);
    if (seen >= rank) return i < bounds_.size() ? bounds_[i] : INFINITY;
  }
  return INFINITY;
}

std::string RenderLabels(const Labels& labels) {
  if (labels.empty()) return "";
  std::string out = "{";
  for (size_t i = 0; i < labels.size(); ++i) {
    if (i > 0) out += ',';
    out += labels[i].first;
    out += "=\"";
    for (char c : labels[i].second) {
      if (c == '\\' || c == '"') out += '\\';
      if (c == '\n') {
        out += "\\n";
        continue;
      }
      out += c;
    }
    out += '"';
  }
  out += '}';
  return out;
}

MetricsRegistry::Family& MetricsRegistry::FamilyFor(const std::string& name,
                                                    const std::string& help, const char* type) {
  Family& f = families_[name];
  if (f.type.empty()) {
    f.help = help;
    f.type = type;
  }
  return f;
}

Counter* MetricsRegistry::GetCounter(const std::string& name, const std::string& help,
                                     const Labels& labels) {
  std::lock_guard<std::mutex> lock(mu_);
  auto& slot = FamilyFor(name, help, "counter").counters[RenderLabels(labels)];
  if (!slot) slot = std::make_unique<Counter>();
  return slot.get();
}

Gauge* MetricsRegistry::GetGauge(const std::string& name, const std::string& help,
                                 const Labels& labels) {
  std::lock_guard<std::mutex> lock(mu_);
  auto& slot = FamilyFor(name, help, "gauge").gauges[RenderLabels(labels)];
  if (!slot) slot = std::make_unique<Gauge>();
  return slot.get();
}

Histogram* MetricsRegistry::GetHistogram(const std::string& name, const std::string& help,
                                         const std::vector<double>& bounds,
                                         const Labels& labels) {
  std::lock_guard<std::mutex> lock(mu_);
  auto& slot = FamilyFor(name, help, "histogram").histograms[RenderLabels(labels)];
  if (!slot) slot = std::make_unique<Histogram>(bounds);
  return slot.get();
}

void MetricsRegistry::AddSampler(const std::string& name, const std::string& help, Type type,
                                 Sampler sampler) {
  std::lock_guard<std::mutex> lock(mu_);
  FamilyFor(name, help, type == Type::kCounter ? "counter" : "gauge")
      .samplers.push_back(std::move(sampler));
}

namespace {
// The shortest digits that read back as exactly v (0.05, not %.17g's
// 0.050000000000000003), without an exponent in the range metrics live in
// (0.0005 and 1000000, not 5e-04 and 1e+06).
std::string Num(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (std::isnan(v)) return "NaN";
  char buf[64];
  const double mag = std::fabs(v);
  const auto format = mag == 0 || (mag >= 1e-6 && mag < 1e15) ? std::chars_format::fixed
                                                               : std::chars_format::scientific;
  const auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v, format);
  return std::string(buf, ec == std::errc() ? end : buf);
}
// Inserts an extra label into an already rendered label string.
std::string WithLabel(const std::string& rendered, const std::string& extra) {
  if (rendered.empty()) return "{" + extra + "}";
  return rendered.substr(0, rendered.size() - 1) + "," + extra + "}";
}
}  // namespace

std::string MetricsRegistry::RenderPrometheus() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::string out;
  for (const auto& [name, f] : families_) {
    out += "# HELP " + name + " " + f.help + "\n";
    out += "# TYPE " + name + " " + f.type + "\n";
    for (const auto& [labels, c] : f.counters) {
      out += name + labels + " " + std::to_string(c->Value()) + "\n";
    }
    for (const auto& [labels, g] : f.gauges) out += name + labels + " " + Num(g->Value()) + "\n";
    for (const auto& [labels, h] : f.histograms) {
      uint64_t cum = 0;
      for (size_t i = 0; i <= h->bounds().size(); ++i) {
        cum += h->BucketCount(i);
        std::string le = i < h->bounds().size() ? Num(h->bounds()[i]) : "+Inf";
        out += name + "_bucket" + WithLabel(labels, "le=\"" + le + "\"") + " " +
               std::to_string(cum) + "\n";
      }
      out += name + "_sum" + labels + " " + Num(h->Sum()) + "\n";
      out += name + "_count" + labels + " " + std::to_string(h->Count()) + "\n";
    }
    for (const auto& sampler : f.samplers) {
      for (const auto& [labels, v] : sampler()) {
        out += name + RenderLabels(labels) + " " + Num(v) + "\n";
      }
    }
  }
  return out;
}

}  // namespace viewpipe
