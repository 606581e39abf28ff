#pragma once
// SreGroupProcessor: the SRE path's Processor when several processes share
// the `qoe` partitions (viewpipe consume --path sre; docs/scale.md, "The
// sre path as several processes"). The state is one PartitionQoe per owned
// partition (SreShards); partgroup::GroupProcessor hands partitions over
// as the Kafka group moves them (checkpoints in the shared store:
// SreShardCheckpoints), as the ops group's processor does, skips records
// fetched before a seek and gives every shard the watermark (SreProcessor's,
// over the owned partitions). Here: caught up and live, the watermark
// follows the wall clock minus idle_lag_ms. The detector is not here: it
// runs on the merged view (group_detector.h).
//
// Thread safety: the runner's thread only; shares the shards with HTTP and
// detector threads through SreShards' lock.

#include <string>

#include "common/clock.h"
#include "common/metrics.h"
#include "log/log.h"
#include "partgroup/group_processor.h"
#include "sregroup/sre_shard_checkpoints.h"
#include "sregroup/sre_shards.h"

namespace viewpipe::sre {

class SreGroupProcessor final : public partgroup::GroupProcessor<PartitionQoe> {
 public:
  // All pointers must outlive the processor; metrics may be null.
  SreGroupProcessor(Log* log, std::string topic, SreShards* shards,
                    SreShardCheckpoints* checkpoints, Clock* clock, MetricsRegistry* metrics,
                    const SreOptions& options);

  void Idle() override;

 private:
  SreOptions options_;
};

}  // namespace viewpipe::sre
