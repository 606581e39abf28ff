// OutageDetector's evidence scans (docs/sre.md "Evidence, not slice
// counts"): an anomaly is judged by how unlikely its own counts are since
// it began, whatever the slices' sizes, so a big group's outage is raised
// as soon as its data are clear and a thin group's as soon as they add up.
//
// Every candidate start s0 of the span (slice starts, at least persist_ms
// before now) is tried; the one whose counts over [s0, now) are least
// likely under the null wins (its start is the alert's started_at). It
// raises when that chance is <= max_p_value and, each on its own elevated
// and significant at persist_p_value:
// - the counts since s0 without their burst, the persist_ms - tick_ms that
//   hold the most of the metric's events, with at least burst_share as
//   many of those events as the burst: an anomaly that is one blip shorter
//   than persist_ms (even one that noise just before it made look longer)
//   has nothing or only noise left;
// - the counts of the newest recent_max_ms (it is still going on).
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <optional>

#include "sre/outage_detector.h"

namespace viewpipe::sre {
namespace {

// P(X >= k) for X ~ Binomial(n, q), summed from k up (k > n q).
double BinomialTail(double k, double n, double q) {
  if (k <= 0) return 1.0;
  if (k > n) return 0.0;
  if (q <= 0) return 0.0;
  if (q >= 1 || k <= n * q) return 1.0;
  const double first = std::ceil(k);
  double term = std::exp(std::lgamma(n + 1) - std::lgamma(first + 1) - std::lgamma(n - first + 1) +
                         first * std::log(q) + (n - first) * std::log1p(-q));
  double sum = 0;
  for (double i = first; i <= n && term > sum * 1e-12; ++i) {
    sum += term;
    term *= (n - i) / (i + 1) * q / (1 - q);
  }
  return std::min(1.0, sum);
}

}  // namespace

double OutageDetector::Numerator(QoeMetric m, const Evidence& e) {
  switch (m) {
    case QoeMetric::kVsfRate:
      return e.vsf;
    case QoeMetric::kEbvsRate:
      return e.ebvs;
    case QoeMetric::kPlaybackFailureRate:
      return e.failures;
    case QoeMetric::kRebufferRatio:
      return e.stalled;
  }
  return 0;
}

// The counts of the group from start on (the slices of this tick).
OutageDetector::Evidence OutageDetector::Since(int64_t start) const {
  Evidence e;
  for (const GroupSlice& s : *mine_) {
    if (s.first >= start) e.Add(*s.second);
  }
  return e;
}

// The counts of the group since start without its burst: the stretch of
// persist_ms - tick_ms (from a slice start) that holds the most of m's
// events (the numerator; stall starts for the rebuffering ratio; fatal
// errors of any kind without m).
OutageDetector::Evidence OutageDetector::WithoutBurst(std::optional<QoeMetric> m,
                                                     int64_t start) const {
  const int64_t width = options_.persist_ms - options_.tick_ms;
  auto events = [m](const QoeCounts& c) {
    Evidence e;
    e.Add(c);
    if (!m) return e.vsf + e.failures;  // FatalSurge: fatal errors of any kind
    return *m == QoeMetric::kRebufferRatio ? e.stall_starts : Numerator(*m, e);
  };
  int64_t burst = kNever;
  double most = -1;
  for (const GroupSlice& from : *mine_) {
    if (from.first < start) continue;
    double n = 0;
    for (const GroupSlice& s : *mine_) {
      if (s.first >= from.first && s.first < from.first + width) n += events(*s.second);
    }
    if (n > most) {
      most = n;
      burst = from.first;
    }
  }
  Evidence e;
  for (const GroupSlice& s : *mine_) {
    if (s.first >= start && (s.first < burst || s.first >= burst + width)) e.Add(*s.second);
  }
  return e;
}

// The candidate start s0 of the span (a slice start at least persist_ms
// before now) whose counts over [s0, now) are least likely by p_of(counts,
// their length in ms): {that chance, s0}, or {1, kNever} without one.
std::pair<double, int64_t> OutageDetector::LeastLikelyStart(
    int64_t now, const std::function<double(const Evidence&, double)>& p_of) const {
  Evidence suffix;
  double best = 1.0;
  int64_t start = kNever;
  for (auto it = mine_->rbegin(); it != mine_->rend(); ++it) {
    suffix.Add(*it->second);
    if (now - it->first < options_.persist_ms) continue;
    const double p = p_of(suffix, static_cast<double>(now - it->first));
    if (p < best) {
      best = p;
      start = it->first;
    }
  }
  return {best, start};
}

// A rate (vsf, ebvs, playback failures) against the group's baseline rate:
// the Poisson tail of the numerator since s0 where den * baseline were
// expected, the rate itself above the threshold (baseline + floor).
int64_t OutageDetector::RateSurge(QoeMetric m, const Baseline& b, int64_t now) const {
  const double p0 = std::clamp(b.base, 1e-3, 1.0);
  auto tail = [&](const Evidence& e) {
    const double num = Numerator(m, e), den = Denominator(m, e);
    if (den <= 0 || num / den <= b.threshold) return 1.0;
    return PoissonTail(num, den * p0);
  };
  const auto [best, start] =
      LeastLikelyStart(now, [&](const Evidence& e, double) { return tail(e); });
  if (start == kNever || best > options_.max_p_value) return kNever;
  const double persist = options_.persist_p_value;
  const Evidence rest = WithoutBurst(m, start);
  const double burst = Numerator(m, Since(start)) - Numerator(m, rest);
  if (Numerator(m, rest) < options_.burst_share * burst || tail(rest) > persist) return kNever;
  if (tail(Since(std::max(start, now - options_.recent_max_ms))) > persist) return kNever;
  const Evidence since = Since(start);
  why_ = fmt::format("rate scan: {} of {} since the start, p {:.2g} at baseline {:.4f}",
                     Numerator(m, since), Denominator(m, since), best, p0);
  return start;
}

// Stall starts (rebuffer_start, counted as they arrive, long before a
// stall's time shows) since s0 against the group's reference rate: once
// learned (min_history normal ticks, LearnStalls), the Poisson tail of
// those since s0 at that rate; before, the rest of the span (at least
// stall_reference_ms): given all the span's stall starts, the binomial tail
// of those since s0 at the share of the time [s0, now) has. Their rate must
// be at least stall_surge_ratio times the reference's (and that at least
// one stall per span).
int64_t OutageDetector::StallSurge(int64_t now) const {
  // The span's slices start at the first slice start >= now - span_ms
  // (now is a tick, or between ticks for OnPartialTick).
  const int64_t tick = options_.tick_ms, from = now - options_.span_ms;
  const double span = static_cast<double>(now - (from + (tick - ((from % tick) + tick) % tick) % tick));
  const double total = span_evidence_.stall_starts;
  const auto& learned = group_->stalls;
  const bool known = learned.size() >= options_.min_history;
  // A group with few stalls a span: one viewer's repeated stalls are not
  // Poisson (the creep path still judges its stalled time).
  const double usual = known ? group_->stalls_sum / static_cast<double>(learned.size()) : total;
  if (usual < options_.min_span_stall_starts) return kNever;
  const double span_ms = static_cast<double>(options_.span_ms);
  const double rate =
      known ? std::max(group_->stalls_sum / static_cast<double>(learned.size()), 1.0) / span_ms
            : 0;
  // k stall starts in len ms against the learned rate, or ref in ref_len ms.
  auto tail = [&](double k, double len, double ref, double ref_len) {
    const double base = known ? rate : std::max(ref, 1.0) / ref_len;
    if (k < static_cast<double>(options_.min_rebuffers) ||
        k / len < options_.stall_surge_ratio * base) {
      return 1.0;
    }
    return known ? PoissonTail(k, base * len) : BinomialTail(k, k + ref, len / (len + ref_len));
  };
  double k = 0, best = 1.0;
  int64_t start = kNever;
  for (auto it = mine_->rbegin(); it != mine_->rend(); ++it) {
    k += static_cast<double>(it->second->stall_starts);
    const double len = static_cast<double>(now - it->first);
    if (!known && span - len < static_cast<double>(options_.stall_reference_ms)) break;
    if (len < static_cast<double>(options_.persist_ms)) continue;
    const double p = tail(k, len, total - k, span - len);
    if (p < best) {
      best = p;
      start = it->first;
    }
  }
  if (start == kNever || best > options_.max_p_value) return kNever;
  // The reference: the span before start.
  const double len = static_cast<double>(now - start);
  const double run = Since(start).stall_starts;
  const double ref = total - run, ref_len = span - len;
  const double persist = options_.persist_p_value;
  const double width = static_cast<double>(options_.persist_ms - options_.tick_ms);
  const double rest = WithoutBurst(QoeMetric::kRebufferRatio, start).stall_starts;
  if (rest < options_.burst_share * (run - rest) ||
      tail(rest, len - width, ref, ref_len) > persist) {
    return kNever;
  }
  const int64_t recent = std::max(start, now - options_.recent_max_ms);
  if (tail(Since(recent).stall_starts, static_cast<double>(now - recent), ref, ref_len) >
      persist) {
    return kNever;
  }
  why_ = fmt::format("stall starts: {} in {} ms, p {:.2g} against {} ({} a span)", run, len,
                     best, known ? "the learned rate" : "the rest of the span", usual);
  return start;
}

// The reference of StallSurge: the span's stall starts at each tick with
// a full span of data and no rebuffering alert open, unless they are a
// surge themselves (stall_surge_ratio over the mean so far).
void OutageDetector::LearnStalls(GroupState& gs, int64_t now) const {
  const MetricState& s = gs.metrics[static_cast<size_t>(QoeMetric::kRebufferRatio)];
  if (!s.open_id.empty() || gs.first_data == kNever || gs.first_data > now - options_.span_ms) {
    return;
  }
  LearnCount(span_evidence_.stall_starts, options_.stall_surge_ratio, &gs.stalls, &gs.stalls_sum);
}

// One span's count into a learned reference (the last `history` of them
// and their sum), unless it is a surge itself: over surge_ratio times the
// mean so far (at least one) once min_history are in.
void OutageDetector::LearnCount(double x, double surge_ratio, std::deque<double>* seen,
                                double* sum) const {
  if (seen->size() >= options_.min_history && surge_ratio > 0 &&
      x > surge_ratio * std::max(*sum / static_cast<double>(seen->size()), 1.0)) {
    return;
  }
  seen->push_back(x);
  *sum += x;
  while (seen->size() > options_.history) {
    *sum -= seen->front();
    seen->pop_front();
  }
}

// Fatal errors of any kind (failed starts and playback failures, each
// counted in the slice of the error) since s0 against the group's learned
// count a span (LearnFatals; at least one): the Poisson tail of those since
// s0, their rate at least fatal_surge_ratio times the learned one, with the
// burst and newest-data tests of the other scans. Raised on the metric
// (vsf_rate or playback_failure_rate) that holds most of them since s0, so
// the surge raises one alert, not two (the other metric's own rate scan
// may still raise its own later); ties go to the playback failures.
int64_t OutageDetector::FatalSurge(QoeMetric m, int64_t now) const {
  // vsf_rate and playback_failure_rate ask in the same group evaluation:
  // the scan runs once (OnGroupTick clears the memo for each group).
  if (!fatal_memo_) fatal_memo_ = ScanFatals(now);
  if (fatal_memo_->start == kNever || (m == QoeMetric::kVsfRate) != fatal_memo_->starts_hold_most) {
    return kNever;
  }
  why_ = fatal_memo_->why;
  return fatal_memo_->start;
}

OutageDetector::FatalScan OutageDetector::ScanFatals(int64_t now) const {
  FatalScan none;
  if (options_.fatal_surge_ratio <= 0) return none;
  const auto& learned = group_->fatals;
  if (learned.size() < options_.min_history) return none;
  const double span_ms = static_cast<double>(options_.span_ms);
  const double rate =
      std::max(group_->fatals_sum / static_cast<double>(learned.size()), 1.0) / span_ms;
  auto fatals = [](const Evidence& e) { return e.vsf + e.failures; };
  auto tail = [&](double k, double len) {
    if (len <= 0 || k / len < options_.fatal_surge_ratio * rate) return 1.0;
    return PoissonTail(k, rate * len);
  };
  const auto [best, start] = LeastLikelyStart(
      now, [&](const Evidence& e, double len) { return tail(fatals(e), len); });
  if (start == kNever || best > options_.max_p_value) return none;
  const Evidence since = Since(start);
  // Persistence: without the burst (the persist_ms - tick_ms stretch with
  // the most of them) and the newest recent_max_ms, each on its own.
  const double len = static_cast<double>(now - start);
  const double width = static_cast<double>(options_.persist_ms - options_.tick_ms);
  const double persist = options_.persist_p_value;
  const Evidence without = WithoutBurst(std::nullopt, start);
  const double run = fatals(since), rest = fatals(without);
  if (rest < options_.burst_share * (run - rest) || tail(rest, len - width) > persist) {
    return none;
  }
  const int64_t recent = std::max(start, now - options_.recent_max_ms);
  if (tail(fatals(Since(recent)), static_cast<double>(now - recent)) > persist) return none;
  return {start, since.vsf > since.failures,
          fmt::format("fatal errors: {} ({} failed starts) in {} ms, p {:.2g} against {:.2f} "
                      "a span",
                      run, since.vsf, len, best, rate * span_ms)};
}

// The reference of FatalSurge: the span's fatal errors at each tick with a
// full span of data and no vsf_rate or playback_failure_rate alert open,
// unless they are a surge themselves (fatal_surge_ratio over the mean so
// far).
void OutageDetector::LearnFatals(GroupState& gs, int64_t now) const {
  const auto& vsf = gs.metrics[static_cast<size_t>(QoeMetric::kVsfRate)];
  const auto& pf = gs.metrics[static_cast<size_t>(QoeMetric::kPlaybackFailureRate)];
  if (!vsf.open_id.empty() || !pf.open_id.empty() || gs.first_data == kNever ||
      gs.first_data > now - options_.span_ms) {
    return;
  }
  LearnCount(span_evidence_.vsf + span_evidence_.failures, options_.fatal_surge_ratio,
             &gs.fatals, &gs.fatals_sum);
}

}  // namespace viewpipe::sre
