#pragma once
// OutageDetector: raises and resolves QoE alerts from the closed 10 s
// windows, in event time (docs/sre.md has the rules and their reasons).
//
// Per group (every dimension but title_id, and the total) and metric
// (vsf_rate, ebvs_rate, playback_failure_rate, rebuffer_ratio):
// - evaluation at every closed window over the trailing eval_windows
//   windows, only with enough volume (DetectorOptions);
// - baseline: median and MAD of the group's own recent values, fed only by
//   normal evaluations, so an outage never becomes its own baseline;
// - anomalous when the value exceeds median + max(mad_k * 1.4826 * MAD,
//   floor) (floors per metric), for proportions also with a binomial
//   z >= min_z, and the newest window on its own is above median + floor;
// - raised after `persist` anomalous evaluations in a row: started_at = the
//   start of the first anomalous window, detected_at = the wall clock;
//   one open alert per (group, metric) (de-duplication);
// - resolved after resolve_after normal evaluations with volume, at the
//   start of the first normal window.
// Silence: a group whose median attempts reach min_attempts and that then
// has no data at all for silent_windows windows gets a "silence" alert
// (started_at = its first empty window), resolved when data come back.
//
// Not thread safe (one consumer thread).

#include <array>
#include <deque>
#include <map>
#include <string>

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

 private:
  struct MetricState {
    std::deque<double> history;
    int streak = 0;
    int normal = 0;
    int64_t streak_start = 0;
    int64_t normal_start = 0;
    std::string open_id;
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

  Reading Read(QoeMetric m, const QoeCounts& trailing, const QoeCounts& newest) const;
  void Evaluate(const GroupKey& g, QoeMetric m, MetricState& s, const Reading& r, int64_t start);
  void Raise(const GroupKey& g, QoeMetric m, MetricState& s, const Reading& r, double baseline);
  void CheckSilence(const GroupKey& g, GroupState& gs, const QoeCounts& newest,
                    const QoeCounts& trailing, int64_t start);

  DetectorOptions options_;
  int64_t window_ms_;
  AlertBook* book_;
  Clock* clock_;
  std::map<GroupKey, GroupState> groups_;
};

}  // namespace viewpipe::sre
