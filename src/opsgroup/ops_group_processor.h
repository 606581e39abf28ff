#pragma once
// OpsGroupProcessor: the ops path's Processor when several processes share
// the `viewing` partitions (viewpipe consume --path ops; docs/scale.md).
// The state is one SessionTracker per owned partition (PartitionShards);
// the runner hands partitions over as the Kafka group moves them:
//
//   gained p: load p's checkpoint from the shared store (ShardCheckpoints)
//             and read p from its offset (no checkpoint: from the start of
//             the log; a damaged one is rebuilt the same way);
//   lost p:   store p's checkpoint (best effort: the next owner replays
//             from whichever checkpoint it finds) and drop p's state.
//
// A record below a shard's next offset (one fetched before a seek) is
// skipped, so no record is applied twice. Watermark: as OpsProcessor's, over
// the owned partitions (the largest partition time, no further than the
// slowest partition with unread records), given to every shard; idle and
// live, it follows the wall clock. Checkpoints are synchronous, one object
// per changed partition, every checkpoint interval.
//
// Thread safety: called on the runner's thread only; shares the shards with
// HTTP threads through PartitionShards' lock.

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/metrics.h"
#include "event/event.h"
#include "log/log.h"
#include "ops/ops_options.h"
#include "opsgroup/partition_shards.h"
#include "opsgroup/shard_checkpoints.h"
#include "stream/consumer_runner.h"

namespace viewpipe::ops {

class OpsGroupProcessor final : public Processor {
 public:
  // All pointers must outlive the processor; metrics may be null.
  OpsGroupProcessor(Log* log, std::string topic, PartitionShards* shards,
                    ShardCheckpoints* checkpoints, Clock* clock, MetricsRegistry* metrics,
                    const OpsOptions& options);

  Result<std::map<PartitionId, Offset>> Restore() override { return std::map<PartitionId, Offset>{}; }
  Status Process(std::span<const ConsumedRecord> records) override;
  Status Checkpoint(const std::map<PartitionId, Offset>& next_offsets) override;
  void Idle() override;
  bool PerPartitionState() const override { return true; }
  Result<std::map<PartitionId, Offset>> Reassign(const std::vector<PartitionId>& lost,
                                                 const std::vector<PartitionId>& gained) override;

  uint64_t duplicates_skipped() const { return duplicates_; }

 private:
  // p's state: from its checkpoint, or empty at the start of the log.
  Result<Shard> Acquire(PartitionId p);
  // The end offset of each owned partition (asked before taking the lock:
  // on Kafka it is a broker round trip).
  std::map<PartitionId, Offset> EndOffsets() const;
  // The watermark the owned partitions vouch for (Shard::kNoTime: none);
  // refreshes each shard's caught_up.
  int64_t Watermark(PartitionShards::Map& shards, const std::map<PartitionId, Offset>& ends,
                    bool* caught_up) const;
  void AfterBatch(PartitionShards::Map& shards, const std::map<PartitionId, Offset>& ends,
                  size_t records);
  void SyncGauges();

  Log* log_;
  std::string topic_;
  PartitionShards* shards_;
  ShardCheckpoints* checkpoints_;
  Clock* clock_;
  OpsOptions options_;
  EventView event_;
  uint64_t duplicates_ = 0;
  std::set<PartitionId> dirty_;  // changed since their last checkpoint

  Counter* events_ = nullptr;
  Counter* corrupt_ = nullptr;
  Counter* restored_ = nullptr;
  Counter* rebuilt_ = nullptr;
  Gauge* owned_ = nullptr;
  Gauge* watermark_ = nullptr;
  Histogram* checkpoint_seconds_ = nullptr;
};

}  // namespace viewpipe::ops
