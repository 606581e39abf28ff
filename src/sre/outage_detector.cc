#include "sre/outage_detector.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <vector>

namespace viewpipe::sre {
namespace {

constexpr std::array<std::string_view, kQoeMetrics> kMetricNames = {
    "vsf_rate", "ebvs_rate", "playback_failure_rate", "rebuffer_ratio"};
// The smallest excess over the baseline that counts, per metric.
constexpr std::array<double, kQoeMetrics> kFloor = {0.05, 0.08, 0.03, 0.02};

double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  const size_t mid = v.size() / 2;
  std::nth_element(v.begin(), v.begin() + static_cast<ptrdiff_t>(mid), v.end());
  return v[mid];
}

}  // namespace

std::string_view QoeMetricName(QoeMetric m) { return kMetricNames[static_cast<size_t>(m)]; }

OutageDetector::OutageDetector(const DetectorOptions& options, int64_t window_ms, AlertBook* book,
                               Clock* clock)
    : options_(options), window_ms_(window_ms), book_(book), clock_(clock) {}

OutageDetector::Reading OutageDetector::Read(QoeMetric m, const QoeCounts& t,
                                             const QoeCounts& n) const {
  Reading r;
  auto prop = [&](double num, double den, double nnum, double nden, bool volume) {
    r.proportion = true;
    r.num = num;
    r.den = den;
    r.volume = volume && den > 0;
    r.value = den > 0 ? num / den : 0;
    r.newest = nden > 0 ? nnum / nden : 0;
  };
  const auto d = [](auto v) { return static_cast<double>(v); };
  switch (m) {
    case QoeMetric::kVsfRate:
      prop(d(t.vsf), d(t.attempts), d(n.vsf), d(n.attempts), t.attempts >= options_.min_attempts);
      break;
    case QoeMetric::kEbvsRate:
      prop(d(t.ebvs), d(t.attempts), d(n.ebvs), d(n.attempts), t.attempts >= options_.min_attempts);
      break;
    case QoeMetric::kPlaybackFailureRate:
      prop(d(t.playback_failures), d(t.ended_plays), d(n.playback_failures), d(n.ended_plays),
           t.ended_plays >= options_.min_ended_plays);
      break;
    case QoeMetric::kRebufferRatio: {
      const double tw = d(t.stalled_ms + t.playing_ms), nw = d(n.stalled_ms + n.playing_ms);
      r.volume = t.stalled_ms + t.playing_ms >= options_.min_watch_ms;
      r.value = tw > 0 ? d(t.stalled_ms) / tw : 0;
      r.newest = nw > 0 ? d(n.stalled_ms) / nw : 0;
      // Enough separate stalls that one long stall is not an outage.
      if (t.rebuffers < options_.min_rebuffers) r.newest = 0;
      break;
    }
  }
  return r;
}

bool OutageDetector::IsSpecific(QoeDim d) { return d == QoeDim::kCdn || d == QoeDim::kCdnCountry; }

void OutageDetector::OnWindow(int64_t start, const GroupCounts& counts) {
  for (const auto& [g, c] : counts) {
    if (g.dim != QoeDim::kTitleId) groups_.try_emplace(g);
  }
  // CDN-level groups first, so their alerts of this window can cover the
  // broader groups' (de-duplication across dimensions).
  for (bool specific : {true, false}) {
    for (auto& [g, gs] : groups_) {
      if (IsSpecific(g.dim) == specific) OnGroupWindow(g, gs, counts, start);
    }
  }
}

void OutageDetector::OnGroupWindow(const GroupKey& g, GroupState& gs, const GroupCounts& counts,
                                   int64_t start) {
  static const QoeCounts kNone;
  auto it = counts.find(g);
  const QoeCounts& newest = it != counts.end() ? it->second : kNone;
  gs.recent.push_back(newest);
  while (gs.recent.size() > static_cast<size_t>(options_.eval_windows)) gs.recent.pop_front();
  QoeCounts trailing;
  for (const QoeCounts& c : gs.recent) trailing.Merge(c);
  for (size_t m = 0; m < kQoeMetrics; ++m) {
    const auto metric = static_cast<QoeMetric>(m);
    Evaluate(g, metric, gs.metrics[m], Read(metric, trailing, newest), start);
  }
  CheckSilence(g, gs, newest, trailing, start);
}

OutageDetector::Baseline OutageDetector::BaselineOf(QoeMetric m, const MetricState& s,
                                                    const Reading& r) const {
  Baseline b;
  const double floor = kFloor[static_cast<size_t>(m)];
  if (r.proportion) {
    // Pooled rate of the normal history; noise is judged by the binomial z.
    double num = 0, den = 0;
    for (const auto& [n, d] : s.history) num += n, den += d;
    b.base = den > 0 ? num / den : 0;
    b.threshold = b.base + floor;
    b.ready = s.history.size() >= options_.min_history &&
              den >= 10.0 * static_cast<double>(options_.min_attempts);
    const double p = std::clamp(b.base, 1e-3, 1.0);
    b.significant = (r.num - r.den * p) / std::sqrt(r.den * p * (1 - p) + 1) >= options_.min_z;
    return b;
  }
  std::vector<double> v;
  for (const auto& h : s.history) v.push_back(h.first);
  b.base = Median(v);
  for (double& x : v) x = std::fabs(x - b.base);
  b.threshold = b.base + std::max(options_.mad_k * 1.4826 * Median(std::move(v)), floor);
  b.ready = s.history.size() >= options_.min_history;
  b.significant = true;
  return b;
}

void OutageDetector::Evaluate(const GroupKey& g, QoeMetric m, MetricState& s, const Reading& r,
                              int64_t start) {
  const double floor = kFloor[static_cast<size_t>(m)];
  const Baseline b = BaselineOf(m, s, r);
  const bool elevated = r.newest > b.base + floor;
  const bool anomalous =
      b.ready && r.volume && r.value > b.threshold && b.significant && elevated;
  s.elevated.emplace_back(start, elevated);
  while (s.elevated.size() > static_cast<size_t>(options_.eval_windows + options_.persist)) {
    s.elevated.pop_front();
  }
  if (anomalous) {
    if (s.streak++ == 0) s.streak_start = start;
    s.normal = 0;
    if (s.open_id.empty() && s.streak >= options_.persist) Raise(g, m, s, r, b.base);
    if (!s.open_id.empty()) book_->Update(s.open_id, r.value);
    return;
  }
  s.streak = 0;
  if (s.open_id.empty()) {
    // The baseline learns from normal readings only: proportions from any
    // reading that is not a significant excess (small groups included),
    // the rebuffering ratio from readings with volume under the threshold.
    const bool normal = r.proportion ? r.den > 0 && !(b.significant && r.value > b.threshold)
                                     : r.volume && r.value <= b.threshold;
    if (normal) {
      s.history.emplace_back(r.proportion ? r.num : r.value, r.proportion ? r.den : 1.0);
      while (s.history.size() > options_.history) s.history.pop_front();
    }
    return;
  }
  // No verdict without volume (an open alert stays open). Hysteresis: back
  // to normal only when the newest window is clearly so.
  if (!r.volume) return;
  if (r.newest > b.base + floor / 2) {
    s.normal = 0;
    return;
  }
  if (s.normal++ == 0) s.normal_start = start;
  if (s.normal >= options_.resolve_after) {
    book_->Resolve(s.open_id, s.normal_start);  // a covered alert is not in the book: no-op
    spdlog::info("sre: resolved {}", s.open_id);
    if (IsSpecific(g.dim)) --open_specific_[static_cast<size_t>(m)];
    s.open_id.clear();
    s.normal = 0;
  }
}

void OutageDetector::Raise(const GroupKey& g, QoeMetric m, MetricState& s, const Reading& r,
                           double baseline) {
  Alert a;
  a.kind = "qoe";
  a.dimension = std::string(QoeDimName(g.dim));
  a.key = g.dim == QoeDim::kTotal ? "total" : g.key;
  a.metric = std::string(QoeMetricName(m));
  // The anomaly began with the first of the contiguous elevated windows
  // before the streak (they lacked volume or significance on their own).
  a.started_at = s.streak_start;
  for (auto it = s.elevated.rbegin(); it != s.elevated.rend(); ++it) {
    if (it->first > s.streak_start) continue;
    if (!it->second) break;
    a.started_at = it->first;
  }
  a.id = Alert::MakeId(a.kind, a.dimension, a.key, a.metric, a.started_at);
  a.value = r.value;
  a.baseline = baseline;
  a.severity = r.value - baseline >= 3 * kFloor[static_cast<size_t>(m)] ? "critical" : "warning";
  a.detected_at = clock_->NowMs();
  a.detected_event_time = s.elevated.back().first + window_ms_;
  s.open_id = a.id;
  if (IsSpecific(g.dim)) {
    ++open_specific_[static_cast<size_t>(m)];
  } else if (open_specific_[static_cast<size_t>(m)] > 0) {
    // The same metric is already alerting on a CDN (or a CDN's country):
    // this broader group only sees that outage. Tracked, not announced.
    ++covered_;
    spdlog::info("sre: {} covered by an open CDN alert, not raised", a.id);
    return;
  }
  if (book_->Raise(a)) {
    spdlog::warn("sre: ALERT {} {} {}={} {}={:.4f} (baseline {:.4f}) since {}", a.severity,
                 a.kind, a.dimension, a.key, a.metric, a.value, a.baseline, a.started_at);
  }
}

void OutageDetector::CheckSilence(const GroupKey& g, GroupState& gs, const QoeCounts& newest,
                                  const QoeCounts& trailing, int64_t start) {
  if (!newest.Empty()) {
    gs.empty = 0;
    if (!gs.silent_id.empty()) {
      book_->Resolve(gs.silent_id, start);
      gs.silent_id.clear();
    }
    if (gs.recent.size() == static_cast<size_t>(options_.eval_windows)) {
      gs.attempts.push_back(static_cast<double>(trailing.attempts));
      while (gs.attempts.size() > options_.history) gs.attempts.pop_front();
    }
    return;
  }
  if (gs.empty++ == 0) gs.empty_start = start;
  const double usual = Median({gs.attempts.begin(), gs.attempts.end()});
  if (gs.empty < options_.silent_windows || !gs.silent_id.empty() ||
      gs.attempts.size() < options_.min_history || usual < options_.min_attempts) {
    return;
  }
  Alert a;
  a.kind = "silence";
  a.dimension = std::string(QoeDimName(g.dim));
  a.key = g.dim == QoeDim::kTotal ? "total" : g.key;
  a.metric = "attempts";
  a.started_at = gs.empty_start;
  a.id = Alert::MakeId(a.kind, a.dimension, a.key, a.metric, a.started_at);
  a.value = 0;
  a.baseline = usual;
  a.severity = "critical";
  a.detected_at = clock_->NowMs();
  a.detected_event_time = start + window_ms_;
  gs.silent_id = a.id;
  if (book_->Raise(a)) {
    spdlog::warn("sre: ALERT silence {}={} since {}", a.dimension, a.key, a.started_at);
  }
}

}  // namespace viewpipe::sre
