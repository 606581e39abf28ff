#pragma once
// SreGroupProcessor: the SRE path's Processor when several processes share
// the `qoe` partitions (viewpipe consume --path sre; docs/scale.md, "The
// sre path as several processes"). The state is one PartitionQoe per owned
// partition (SreShards); the runner hands partitions over as the Kafka
// group moves them, as OpsGroupProcessor does:
//
//   gained p: load p's checkpoint from the shared store and read p from its
//             offset (none, or damaged: from the start of the log);
//   lost p:   store p's checkpoint (best effort) and drop p's state.
//
// A record below a shard's next offset (fetched before a seek) is skipped.
// Watermark: SreProcessor's, over the owned partitions, given to every
// shard; caught up and live, it follows the wall clock minus idle_lag_ms.
// The detector is not here: it runs on the merged view (group_detector.h).
//
// Thread safety: the runner's thread only; shares the shards with HTTP and
// detector threads through SreShards' lock.

#include <map>
#include <set>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/metrics.h"
#include "event/event.h"
#include "log/log.h"
#include "sregroup/sre_shard_checkpoints.h"
#include "sregroup/sre_shards.h"
#include "stream/consumer_runner.h"

namespace viewpipe::sre {

class SreGroupProcessor final : public Processor {
 public:
  // All pointers must outlive the processor; metrics may be null.
  SreGroupProcessor(Log* log, std::string topic, SreShards* shards,
                    SreShardCheckpoints* checkpoints, Clock* clock, MetricsRegistry* metrics,
                    const SreOptions& options);

  Result<std::map<PartitionId, Offset>> Restore() override {
    return std::map<PartitionId, Offset>{};
  }
  Status Process(std::span<const ConsumedRecord> records) override;
  Status Checkpoint(const std::map<PartitionId, Offset>& next_offsets) override;
  void Idle() override;
  bool PerPartitionState() const override { return true; }
  Result<std::map<PartitionId, Offset>> Reassign(const std::vector<PartitionId>& lost,
                                                 const std::vector<PartitionId>& gained) override;

  uint64_t duplicates_skipped() const { return duplicates_; }

 private:
  Result<SreShard> Acquire(PartitionId p);
  std::map<PartitionId, Offset> EndOffsets() const;
  // The watermark the owned partitions vouch for (kNoTime: none); refreshes
  // each shard's caught_up.
  int64_t Watermark(SreShards::Map& shards, const std::map<PartitionId, Offset>& ends,
                    bool* caught_up) const;

  Log* log_;
  std::string topic_;
  SreShards* shards_;
  SreShardCheckpoints* checkpoints_;
  Clock* clock_;
  SreOptions options_;
  EventView event_;
  uint64_t duplicates_ = 0;
  std::set<PartitionId> dirty_;

  Counter* events_ = nullptr;
  Counter* corrupt_ = nullptr;
  Counter* restored_ = nullptr;
  Counter* rebuilt_ = nullptr;
  Gauge* owned_ = nullptr;
  Gauge* watermark_ = nullptr;
  Histogram* checkpoint_seconds_ = nullptr;
};

}  // namespace viewpipe::sre
