#include "partgroup/group_metrics.h"

namespace viewpipe::partgroup {

GroupMetrics GroupMetrics::Register(MetricsRegistry* metrics, const GroupMetricsSpec& spec) {
  GroupMetrics m;
  if (metrics == nullptr) return m;
  const std::string& p = spec.prefix;
  m.events = metrics->GetCounter(p + "_events_total", spec.events_help);
  m.corrupt = metrics->GetCounter(p + "_corrupt_records_total", spec.corrupt_help);
  m.restored = metrics->GetCounter(p + "_partition_handovers_total", spec.handover_help,
                                   {{"outcome", "checkpoint"}});
  m.rebuilt = metrics->GetCounter(p + "_partition_handovers_total", spec.handover_help,
                                  {{"outcome", "rebuild"}});
  m.owned = metrics->GetGauge(p + "_partitions_owned", spec.owned_help);
  m.watermark = metrics->GetGauge(p + "_watermark_ms", spec.watermark_help);
  m.checkpoint_seconds = metrics->GetHistogram(p + "_checkpoint_seconds", spec.checkpoint_help,
                                               spec.checkpoint_buckets);
  return m;
}

}  // namespace viewpipe::partgroup
