#pragma once
// OutageDetector: raises and resolves QoE alerts from the closed 10 s
// windows, in event time (docs/sre.md has the rules and their reasons).
//
// Per group (every dimension but title_id, and the total) and metric
// (vsf_rate, ebvs_rate, playback_failure_rate, rebuffer_ratio):
// - evaluation at every closed window over the trailing eval_windows
//   windows, only with enough volume (DetectorOptions);
// - baseline from the group's own recent normal readings (never from an
//   anomaly, so an outage never becomes its own baseline): for the rates,
//   the pooled rate (sum of numerators / sum of denominators, so small
//   groups learn too); for the rebuffering ratio, the median and MAD;
// - anomalous when the value exceeds baseline + floor (floors per metric;
//   for the ratio max(mad_k * 1.4826 * MAD, floor)), for rates also with a
//   binomial z >= min_z against the baseline, and the newest window on its
//   own is above baseline + floor;
// - raised after `persist` anomalous evaluations in a row: started_at = the
//   start of the first of the contiguous elevated windows that led to it
//   (looking back over the trailing windows), detected_at = the wall clock;
//   one open alert per (group, metric) (de-duplication); while a cdn or
//   cdn_country alert is open for a metric, the broader groups (total,
//   country, isp, device_type) do not raise their own for it (they see the
//   same outage; counted in covered());
// - resolved after resolve_after windows in a row whose own value is back
//   under median + floor / 2 (hysteresis), at the start of the first.
// Silence: a group whose median attempts reach min_attempts and that then
// has no data at all for silent_windows windows gets a "silence" alert
// (started_at = its first empty window), resolved when data come back.
//
// Not thread safe (one consumer thread).

#include <array>
#include <deque>
#include <map>
#include <string>
#include <utility>

#include "common/clock.h"
#include "sre/alert_book.h"
#include "sre/qoe_group.h"
#include "sre/sre_options.h"

namespace viewpipe::sre {

enum class QoeMetric : uint8_t { kVsfRate, kEbvsRate, kPlaybackFailureRate, kRebufferRatio };
inline constexpr size_t kQoeMetrics = 4;
std::string_view QoeMetricName(QoeMetric m);

class OutageDetector {
 public:
  // book and clock must outlive the detector.
  OutageDetector(const DetectorOptions& options, int64_t window_ms, AlertBook* book, Clock* clock);

  // Feeds one closed window; windows come in order without gaps.
  void OnWindow(int64_t start, const GroupCounts& counts);
  // Alerts of broader groups not raised because a CDN alert covered them.
  uint64_t covered() const { return covered_; }

 private:
  struct MetricState {
    // Normal readings: (numerator, denominator) of a proportion, or
    // (value, 1) of the rebuffering ratio.
    std::deque<std::pair<double, double>> history;
    int streak = 0;
    int normal = 0;
    int64_t streak_start = 0;
    int64_t normal_start = 0;
    std::string open_id;
    // The newest windows: start and whether it was elevated on its own.
    std::deque<std::pair<int64_t, bool>> elevated;
  };
  struct GroupState {
    std::deque<QoeCounts> recent;  // newest last, at most eval_windows
    std::array<MetricState, kQoeMetrics> metrics;
    std::deque<double> attempts;  // trailing attempts while there was data
    int empty = 0;
    int64_t empty_start = 0;
    std::string silent_id;
  };
  struct Reading {
    bool volume = false;
    double value = 0, newest = 0;
    double num = 0, den = 0;  // the trailing proportion, when it is one
    bool proportion = false;
  };

  struct Baseline {
    double base = 0, threshold = 0;
    bool ready = false, significant = false;
  };

  static bool IsSpecific(QoeDim d);
  void OnGroupWindow(const GroupKey& g, GroupState& gs, const GroupCounts& counts, int64_t start);
  Reading Read(QoeMetric m, const QoeCounts& trailing, const QoeCounts& newest) const;
  Baseline BaselineOf(QoeMetric m, const MetricState& s, const Reading& r) const;
  void Evaluate(const GroupKey& g, QoeMetric m, MetricState& s, const Reading& r, int64_t start);
  void Raise(const GroupKey& g, QoeMetric m, MetricState& s, const Reading& r, double baseline);
  void CheckSilence(const GroupKey& g, GroupState& gs, const QoeCounts& newest,
                    const QoeCounts& trailing, int64_t start);

  DetectorOptions options_;
  int64_t window_ms_;
  AlertBook* book_;
  Clock* clock_;
  std::map<GroupKey, GroupState> groups_;
  std::array<int, kQoeMetrics> open_specific_{};  // open cdn / cdn_country alerts per metric
  uint64_t covered_ = 0;
};

}  // namespace viewpipe::sre
