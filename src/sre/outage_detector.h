#pragma once
// OutageDetector: raises and resolves QoE alerts in event time from short
// slices of recent data (docs/sre.md has the rules and their reasons).
//
// It is evaluated at every tick (1 s of event time, watermark-driven) over
// the trailing span (20 s) of slices, including the newest, still partial
// ones. Per group (every dimension but title_id, and the total) and metric
// (vsf_rate, ebvs_rate, playback_failure_rate, rebuffer_ratio):
// - an evaluation needs volume in the span (DetectorOptions);
// - baseline from the group's own recent normal readings (never from an
//   anomaly, so an outage never becomes its own baseline): for the rates,
//   the pooled rate (sum of numerators / sum of denominators, so small
//   groups learn too); for the rebuffering ratio, the median and MAD;
// - the run: walking back from the newest slice, the slices each above
//   baseline + floor on their own, bridging at most one that is not;
// - anomalous (and raised at once: persistence is in the data, not in
//   ticks) when the span has volume and the run holds persist_ms of
//   elevated slices in a row (or one more with gaps), is still going on,
//   its own value exceeds the threshold (baseline + floor; for the ratio
//   max(mad_k * 1.4826 * MAD, floor)) and it is significant: for rates a
//   Poisson tail <= max_p_value of its count against the baseline rate;
//   for the ratio, its stall starts against the rest of the span's rate,
//   or the whole span over the threshold (a slow creep);
// - started_at = the run's first slice, detected_at = the wall clock; one
//   open alert per (group, metric) (de-duplication); while
//   a cdn or cdn_country alert is open for a metric, the broader groups
//   (total, country, isp, device_type) do not raise their own for it;
// - resolved once the newest data have been under baseline + floor / 2
//   (hysteresis; a proportion's also when not significantly over it, and
//   the data since those ticks began not either) at every tick for
//   resolve_ms, at the start of that data.
// Silence: a group whose median attempts per span reach min_attempts and
// that then has no data at all for silent_ms gets a "silence" alert
// (started_at = the end of its last slice with data), resolved when data
// come back (at the first slice with data).
//
// Not thread safe (one consumer thread).

#include <array>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "sre/alert_book.h"
#include "sre/qoe_group.h"
#include "sre/sre_options.h"

namespace viewpipe::sre {

enum class QoeMetric : uint8_t { kVsfRate, kEbvsRate, kPlaybackFailureRate, kRebufferRatio };
inline constexpr size_t kQoeMetrics = 4;
std::string_view QoeMetricName(QoeMetric m);

// For values in ascending order: the median (element n/2, the upper one of
// an even count) and the median absolute deviation from it (element n/2 of
// the deviations' order), as the rebuffering ratio's baseline takes them;
// {0, 0} for none.
std::pair<double, double> MedianAndMad(const std::vector<double>& sorted);

// Slice start -> the slice's counts (RecentSlices::Range).
using SliceView = std::map<int64_t, const GroupCounts*>;

class OutageDetector {
 public:
  static constexpr int64_t kNever = INT64_MIN;
  // book and clock must outlive the detector.
  OutageDetector(const DetectorOptions& options, AlertBook* book, Clock* clock);

  // One evaluation at event time now over the slices of [now - span, now)
  // (others are ignored); ticks come in order, options.tick_ms apart.
  void OnTick(int64_t now, const SliceView& slices);
  // Between ticks, at any event time now: only raises alerts whose
  // evidence is already there (no learning, resolution or silence), so a
  // live outage is raised as soon as its data arrive, not at the next tick.
  void OnPartialTick(int64_t now, const SliceView& slices);
  // Alerts of broader groups not raised because a CDN alert covered them.
  uint64_t covered() const { return covered_; }
  // The checkpoint (outage_detector_checkpoint.cc): every group's history,
  // open alert ids and silence state. Load replaces them; false when the
  // input is malformed.
  void Save(std::string* out) const;
  bool Load(std::string_view* in);

 private:
  // The counts the rules read, summed over some slices.
  struct Evidence {
    double attempts = 0, vsf = 0, ebvs = 0, ended = 0, failures = 0;
    double stalled = 0, playing = 0, rebuffers = 0, stall_starts = 0;
    bool data = false;
    void Add(const QoeCounts& c);
  };
  struct MetricState {
    // Normal readings: (numerator, denominator) of a proportion, or
    // (value, 1) of the rebuffering ratio.
    std::deque<std::pair<double, double>> history;
    double sum_num = 0, sum_den = 0;  // of history (integer counts: exact)
    // The rebuffering ratio's history values in ascending order: its
    // median/MAD baseline, judged at every tick, reads them in O(n) without
    // copying or selecting (the checkpoint rebuilds it from history).
    std::vector<double> sorted;
    int normal = 0;
    int64_t normal_start = 0;
    std::string open_id;
  };
  struct GroupState {
    std::array<MetricState, kQoeMetrics> metrics;
    std::deque<double> attempts;  // attempts per span while there was data
    // The median of `attempts`, < 0 when it must be recomputed: a silent
    // group is checked at every tick (days of them when event time jumps)
    // while its history stays the same.
    double attempts_median = -1;
    int64_t first_data = kNever;
    int64_t last_data_end = kNever;
    std::string silent_id;
    int64_t silent_since = 0;
    // The span's stall starts at normal ticks (the reference rate of
    // StallSurge once min_history are in).
    std::deque<double> stalls;
    double stalls_sum = 0;
    // The span's fatal errors (failed starts + playback failures) at normal
    // ticks (the reference rate of FatalSurge once min_history are in).
    std::deque<double> fatals;
    double fatals_sum = 0;
  };
  struct Reading {
    bool volume = false;
    double value = 0, newest = 0;
    double settled = 0;  // the rebuffering ratio's newest settled data (settle_ms)
    double num = 0, den = 0;  // the span's proportion, when it is one
    double newest_num = 0, newest_den = 0;  // the newest data's, when a proportion
    bool proportion = false;
  };
  struct Baseline {
    double base = 0, threshold = 0;
    bool ready = false, significant = false;
  };
  // The newest run of slices each elevated on its own (gaps of at most one
  // slice that is not): its first and newest elevated slice, and the
  // group's counts over every slice from its first on.
  struct Run {
    int64_t start = kNever, last = kNever;
    int elevated = 0;     // elevated slices in it
    int consecutive = 0;  // the longest stretch of them without a gap
    Evidence counts;
  };

  using GroupSlice = std::pair<int64_t, const QoeCounts*>;
  static bool IsSpecific(QoeDim d);
  static double Numerator(QoeMetric m, const Evidence& e);
  static double Denominator(QoeMetric m, const Evidence& e);
  // P(X >= k) for X ~ Poisson(lambda).
  static double PoissonTail(double k, double lambda);
  // The newest data of slices that start before `end` (now, or now -
  // settle_ms for the settled data).
  Evidence Newest(QoeMetric m, const std::vector<GroupSlice>& mine, int64_t end,
                  bool before_end) const;
  void OnGroupTick(const GroupKey& g, GroupState& gs, const SliceView& slices, int64_t now);
  Reading Read(QoeMetric m, const Evidence& span, const Evidence& newest) const;
  // Whether the data still read as the anomaly for resolution: the newest
  // data over `above` and, for a proportion, significantly so
  // (resolve_p_value < 1), or the proportion's data since the ticks counted
  // normal began (s.normal_start) significantly so.
  bool StillElevated(QoeMetric m, const MetricState& s, const Reading& r, double above,
                     int64_t now) const;
  Baseline BaselineOf(QoeMetric m, const MetricState& s, const Reading& r) const;
  void Evaluate(const GroupKey& g, QoeMetric m, MetricState& s, const Reading& r, int64_t now);
  void Learn(MetricState& s, const Reading& r, const Baseline& b) const;
  void Raise(const GroupKey& g, QoeMetric m, MetricState& s, const Reading& r, double baseline,
             int64_t started_at, int64_t now);
  Run RunOf(const GroupKey& g, QoeMetric m, double elevated_above) const;
  bool RatioAnomalous(const Run& run, const Baseline& b, int64_t now) const;
  double LongestStallsSince(int64_t from, size_t n) const;
  // The evidence scans (outage_detector_scan.cc): the anomaly's start, or
  // kNever when there is none (yet).
  Evidence Since(int64_t start) const;
  std::pair<double, int64_t> LeastLikelyStart(
      int64_t now, const std::function<double(const Evidence&, double)>& p_of) const;
  int64_t RateSurge(QoeMetric m, const Baseline& b, int64_t now) const;
  int64_t StallSurge(int64_t now) const;
  void LearnStalls(GroupState& gs, int64_t now) const;
  // Fatal errors of any kind against the learned count (fatal_surge_ratio):
  // the anomaly's start when m (vsf_rate or playback_failure_rate) holds
  // most of them since it, else kNever.
  int64_t FatalSurge(QoeMetric m, int64_t now) const;
  struct FatalScan {
    int64_t start = kNever;
    bool starts_hold_most = false;  // failed starts outnumber playback failures
    std::string why;
  };
  FatalScan ScanFatals(int64_t now) const;
  void LearnFatals(GroupState& gs, int64_t now) const;
  void LearnCount(double x, double surge_ratio, std::deque<double>* seen, double* sum) const;
  Evidence WithoutBurst(std::optional<QoeMetric> m, int64_t start) const;
  // When the metric is anomalous at now: its start (kNever: it is not).
  int64_t AnomalyStart(const GroupKey& g, QoeMetric m, const Baseline& b, double elevated_above,
                       int64_t now) const;
  void CheckSilence(const GroupKey& g, GroupState& gs, const Evidence& span,
                    int64_t first_data_slice, int64_t now);

  DetectorOptions options_;
  AlertBook* book_;
  Clock* clock_;
  std::map<GroupKey, GroupState> groups_;
  const SliceView* slices_ = nullptr;  // during OnTick
  bool partial_ = false;               // during OnPartialTick
  Evidence span_evidence_;             // of the group being evaluated
  const std::vector<GroupSlice>* mine_ = nullptr;  // its slices with data
  const GroupState* group_ = nullptr;               // and its state
  mutable std::optional<FatalScan> fatal_memo_;     // its FatalSurge scan
  std::array<int, kQoeMetrics> open_specific_{};  // open cdn / cdn_country alerts per metric
  uint64_t covered_ = 0;
  // Which rule found the last anomaly and its numbers (the ALERT log line).
  mutable std::string why_;
};

}  // namespace viewpipe::sre
