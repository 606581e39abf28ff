// OutageDetector's runs: the newest stretch of elevated slices of a group
// and the rule that turns it into an anomaly (docs/sre.md: persistence in
// the data, significance of the run's own counts).
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <vector>

#include "sre/outage_detector.h"

namespace viewpipe::sre {

// The newest run: walking back from the newest slice, the slices each
// above elevated_above on their own, with gaps of at most max_gap slices
// that are not (a thin group's 1 s slice often misses an outage); slices
// without data (no denominator) neither break nor extend it. The run's
// counts are those of every slice of the group from its start on.
OutageDetector::Run OutageDetector::RunOf(const GroupKey& g, QoeMetric m,
                                          double elevated_above) const {
  Run run;
  int gap = 0, stretch = 0;
  // The ratio bridges one slice only: its runs are not held to a count's
  // significance unless they have many stall starts (Anomalous).
  const int max_gap = m == QoeMetric::kRebufferRatio ? 1 : options_.max_gap;
  for (auto it = slices_->rbegin(); it != slices_->rend() && gap <= max_gap; ++it) {
    auto c = it->second->find(g);
    if (c == it->second->end()) continue;
    Evidence e;
    e.Add(c->second);
    if (Denominator(m, e) <= 0) continue;
    if (Read(m, span_evidence_, e).newest > elevated_above) {
      run.start = it->first;
      if (run.last == kNever) run.last = it->first;
      ++run.elevated;
      run.consecutive = std::max(run.consecutive, ++stretch);
      gap = 0;
    } else {
      ++gap;
      stretch = 0;
    }
  }
  if (run.start == kNever) return run;
  for (auto it = slices_->lower_bound(run.start); it != slices_->end(); ++it) {
    auto c = it->second->find(g);
    if (c != it->second->end()) run.counts.Add(c->second);
  }
  return run;
}

// The stalled time the n longest stalls add to [from, now): stalls are
// counted when they end (their time spread back over their span), so per
// slice at or after from its longest stall that ended there, capped at
// what of it can lie after from; the n largest of those (two long stalls
// ending in the same slice count as one: this never removes too much).
double OutageDetector::LongestStallsSince(int64_t from, size_t n) const {
  std::vector<double> parts;
  for (const GroupSlice& s : *mine_) {
    if (s.first < from || s.second->longest_stall_ms <= 0) continue;
    const auto reach = static_cast<double>(s.first + options_.tick_ms - from);
    parts.push_back(std::min(static_cast<double>(s.second->longest_stall_ms), reach));
  }
  n = std::min(n, parts.size());
  std::partial_sort(parts.begin(), parts.begin() + static_cast<ptrdiff_t>(n), parts.end(),
                    std::greater<>());
  double sum = 0;
  for (size_t i = 0; i < n; ++i) sum += parts[i];
  return sum;
}

// P(X >= k) for X ~ Poisson(lambda): the chance of k events or more where
// lambda were expected.
double OutageDetector::PoissonTail(double k, double lambda) {
  if (k <= 0) return 1.0;
  if (lambda <= 0) return 0.0;
  if (k <= lambda) return 1.0;  // not an excess (and the sum below would start low)
  const double first = std::ceil(k);
  double term = std::exp(-lambda + first * std::log(lambda) - std::lgamma(first + 1));
  double sum = 0;
  for (int i = 0; i < 100000 && term > sum * 1e-12; ++i) {
    sum += term;
    term *= lambda / (first + i + 1);
  }
  return sum;
}

// When metric m of group g is anomalous at now, the anomaly's start:
// rates by the evidence scan of their counts (outage_detector_scan.cc);
// the rebuffering ratio by its stalled time (a creep, or stalls that are
// over: RunOf + RatioAnomalous) or, sooner, by a surge of stall starts.
int64_t OutageDetector::AnomalyStart(const GroupKey& g, QoeMetric m, const Baseline& b,
                                     double elevated_above, int64_t now) const {
  if (m != QoeMetric::kRebufferRatio) {
    const int64_t start = RateSurge(m, b, now);
    return start != kNever || m == QoeMetric::kEbvsRate ? start : FatalSurge(m, now);
  }
  const Run run = RunOf(g, m, elevated_above);
  if (RatioAnomalous(run, b, now)) return run.start;
  return StallSurge(now);
}

// The rebuffering ratio's run of elevated slices (stalled time): it must
// hold persist_ms of elevated slices in a row, or one more than that with
// gaps, and still be going on: at most one slice with data and not
// elevated after it (RunOf), and its newest elevated slice within
// recent_max_ms (the newest slices can be empty while their data are on
// the way); its ratio must clear the threshold with min_rebuffers stalls.
bool OutageDetector::RatioAnomalous(const Run& run, const Baseline& b, int64_t now) const {
  const int need = static_cast<int>(options_.persist_ms / options_.tick_ms);
  if (run.start == kNever || run.last < now - options_.recent_max_ms ||
      (run.consecutive < need && run.elevated < need + 1)) {
    return false;
  }
  const Evidence& e = run.counts;
  const double den = Denominator(QoeMetric::kRebufferRatio, e);
  // Trimmed: without its min_rebuffers - 1 longest stalls, the ratio must
  // still be over (a few viewers' long stalls in a small group are not an
  // outage; the excess must rest on at least min_rebuffers stalls).
  const size_t trim = options_.min_rebuffers > 0 ? options_.min_rebuffers - 1 : 0;
  auto over = [&](double stalled, double watch, int64_t from) {
    const double cut = std::min(LongestStallsSince(from, trim), stalled);
    return watch - cut > 0 && (stalled - cut) / (watch - cut) > b.threshold;
  };
  if (den <= 0 || !over(e.stalled, den, run.start) ||
      e.rebuffers < static_cast<double>(options_.min_rebuffers)) {
    return false;
  }
  // Many separate stalls, not a few long ones of a small group: the
  // stall starts of the run against the rest of the span's rate (at
  // least one expected). Or, for a slow creep, the whole span is over.
  const Evidence& span = span_evidence_;
  const double rest_watch = span.stalled + span.playing - den;
  const double rest_starts = span.stall_starts - e.stall_starts;
  const double expected = rest_watch > 0 ? std::max(1.0, rest_starts / rest_watch * den) : 1.0;
  const double span_watch = span.stalled + span.playing;
  const double p = PoissonTail(e.stall_starts, expected);
  const bool creep = mine_->empty() ? false
                                    : over(span.stalled, span_watch, mine_->front().first);
  why_ = fmt::format("stalled time: run of {} ms, {} elevated slices, {:.0f} of {:.0f} ms stalled "
                     "in {} stalls ({} starts, p {:.2g}), span {:.4f}{}",
                     now - run.start, run.elevated, e.stalled, den, e.rebuffers, e.stall_starts,
                     p, span_watch > 0 ? span.stalled / span_watch : 0.0,
                     p <= options_.max_p_value ? "" : " (the whole span is over)");
  return p <= options_.max_p_value || creep;
}

}  // namespace viewpipe::sre
