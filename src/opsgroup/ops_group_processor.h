#pragma once
// OpsGroupProcessor: the ops path's Processor when several processes share
// the `viewing` partitions (viewpipe consume --path ops; docs/scale.md).
// The state is one SessionTracker per owned partition (PartitionShards);
// partgroup::GroupProcessor hands partitions over as the Kafka group moves
// them (checkpoints in the shared store: ShardCheckpoints), skips records
// fetched before a seek and gives every shard the watermark (as
// OpsProcessor's, over the owned partitions). Here: idle sessions are
// evicted after each batch, and idle and live, the watermark follows the
// wall clock. Checkpoints are synchronous, one object per changed
// partition, every checkpoint interval.
//
// Thread safety: called on the runner's thread only; shares the shards with
// HTTP threads through PartitionShards' lock.

#include <string>

#include "common/clock.h"
#include "common/metrics.h"
#include "log/log.h"
#include "ops/ops_options.h"
#include "opsgroup/partition_shards.h"
#include "opsgroup/shard_checkpoints.h"
#include "partgroup/group_processor.h"

namespace viewpipe::ops {

class OpsGroupProcessor final : public partgroup::GroupProcessor<SessionTracker> {
 public:
  // All pointers must outlive the processor; metrics may be null.
  OpsGroupProcessor(Log* log, std::string topic, PartitionShards* shards,
                    ShardCheckpoints* checkpoints, Clock* clock, MetricsRegistry* metrics,
                    const OpsOptions& options);

  void Idle() override;

 private:
  void AfterBatch(Map& shards, size_t records) override;

  OpsOptions options_;
};

}  // namespace viewpipe::ops
