#include "opsgroup/ops_group_processor.h"

#include <algorithm>

namespace viewpipe::ops {
namespace {

constexpr size_t kEvictPerRecord = 2;
constexpr size_t kEvictPerIdle = 65536;

// The names and help texts of the ops path's metrics.
partgroup::GroupMetricsSpec OpsMetricsSpec() {
  return {"viewpipe_ops", "Events applied by the ops path",
          "Records of the viewing topic the ops path could not decode",
          "Partitions this ops process took over", "Partitions of viewing this ops process counts",
          "The ops watermark (event time)",
          "Time to write one ops checkpoint (all changed partitions)",
          {0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30}};
}

}  // namespace

OpsGroupProcessor::OpsGroupProcessor(Log* log, std::string topic, PartitionShards* shards,
                                     ShardCheckpoints* checkpoints, Clock* clock,
                                     MetricsRegistry* metrics, const OpsOptions& options)
    : GroupProcessor(log, std::move(topic), shards, checkpoints, clock, "ops",
                     partgroup::GroupMetrics::Register(metrics, OpsMetricsSpec())),
      options_(options) {}

void OpsGroupProcessor::AfterBatch(Map& shards, size_t records) {
  const size_t budget = (records * kEvictPerRecord + 64) / std::max<size_t>(shards.size(), 1) + 1;
  for (auto& [p, s] : shards) s.state->EvictIdle(budget);
}

void OpsGroupProcessor::Idle() {
  const int64_t now = clock()->NowMs();
  const int64_t target = now - options_.idle_lag_ms;
  const std::map<PartitionId, Offset> ends = EndOffsets();
  shards()->Write([&](Map& shards) {
    bool caught_up;
    Watermark(shards, ends, &caught_up);
    int64_t newest = INT64_MIN;
    for (const auto& [p, s] : shards) {
      if (s.state->has_time()) newest = std::max(newest, s.state->watermark());
    }
    if (!caught_up || newest == INT64_MIN || newest < now - options_.live_window_ms) return;
    for (auto& [p, s] : shards) {
      s.state->AdvanceWatermark(target);
      s.state->EvictIdle(kEvictPerIdle);
    }
  });
}

}  // namespace viewpipe::ops
