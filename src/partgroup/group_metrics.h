#pragma once
// GroupMetrics: the metrics of a group's processor (GroupProcessor), named
// <prefix>_events_total, _corrupt_records_total,
// _partition_handovers_total{outcome="checkpoint"|"rebuild"},
// _partitions_owned, _watermark_ms and _checkpoint_seconds (prefix
// "viewpipe_ops", "viewpipe_sre"), each group with its own help texts.
//
// Thread safety: Register as MetricsRegistry; the metrics are thread safe.

#include <string>
#include <vector>

#include "common/metrics.h"

namespace viewpipe::partgroup {

struct GroupMetricsSpec {
  std::string prefix;  // "viewpipe_ops"
  std::string events_help;
  std::string corrupt_help;
  std::string handover_help;
  std::string owned_help;
  std::string watermark_help;
  std::string checkpoint_help;
  std::vector<double> checkpoint_buckets;
};

struct GroupMetrics {
  Counter* events = nullptr;
  Counter* corrupt = nullptr;
  Counter* restored = nullptr;
  Counter* rebuilt = nullptr;
  Gauge* owned = nullptr;
  Gauge* watermark = nullptr;
  Histogram* checkpoint_seconds = nullptr;

  // All null when metrics is null.
  static GroupMetrics Register(MetricsRegistry* metrics, const GroupMetricsSpec& spec);
};

}  // namespace viewpipe::partgroup
