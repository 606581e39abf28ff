#include "sregroup/sre_group_processor.h"

#include <algorithm>

namespace viewpipe::sre {
namespace {

// The names and help texts of the SRE path's metrics.
partgroup::GroupMetricsSpec SreMetricsSpec() {
  return {"viewpipe_sre", "Events applied by the SRE path",
          "Records of the qoe topic the SRE path could not decode",
          "Partitions of qoe this SRE process took over",
          "Partitions of qoe this SRE process counts", "The SRE watermark (event time)",
          "Time to write one SRE checkpoint", {0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5}};
}

}  // namespace

SreGroupProcessor::SreGroupProcessor(Log* log, std::string topic, SreShards* shards,
                                     SreShardCheckpoints* checkpoints, Clock* clock,
                                     MetricsRegistry* metrics, const SreOptions& options)
    : GroupProcessor(log, std::move(topic), shards, checkpoints, clock, "sre",
                     partgroup::GroupMetrics::Register(metrics, SreMetricsSpec())),
      options_(options) {}

void SreGroupProcessor::Idle() {
  const int64_t now = clock()->NowMs();
  const std::map<PartitionId, Offset> ends = EndOffsets();
  shards()->Write([&](Map& shards) {
    bool caught_up;
    const int64_t w = Watermark(shards, ends, &caught_up);
    if (!caught_up || w == kNoTime || w < now - options_.live_window_ms) return;
    const int64_t target = std::max(w, now - options_.idle_lag_ms);
    for (auto& [p, s] : shards) s.state->AdvanceWatermark(target);
    if (metrics().watermark != nullptr) metrics().watermark->Set(static_cast<double>(target));
  });
}

}  // namespace viewpipe::sre
