#pragma once
// OpsProcessor: the ops path's Processor (stream/consumer_runner.h) over the
// `viewing` topic: decodes each record, applies it to the SessionTracker,
// moves the watermark, forgets idle sessions, publishes snapshots and
// checkpoints.
//
// Watermark: each partition's time is the largest WatermarkTime (ts capped
// by received_at) it has delivered. The ops watermark is the largest of them,
// but no further than the slowest partition that still has unread records
// (so a replay that reads one partition ahead of another does not make the
// other's events late). While the log has nothing new and the watermark is
// within live_window_ms of the wall clock, it follows the wall clock minus
// idle_lag_ms (OpsOptions).
//
// Checkpoint file data_dir/ops/checkpoint (checkpoint_file.h framing):
//   section 16 "processor": varint n, then n x (varint partition, varint
//              next offset, signed partition time or INT64_MIN)
//   then the SessionTracker's sections.
// Restore loads it and returns its offsets; when it is missing, damaged or
// written with other options, Restore logs why, sets a damaged file aside
// (checkpoint.bad) and returns the start of every partition: the state is
// rebuilt from the log.
//
// Thread safety: called on the runner's thread only; shares the tracker
// through OpsState.

#include <cstdint>
#include <map>
#include <string>

#include "common/clock.h"
#include "common/env.h"
#include "common/metrics.h"
#include "log/log.h"
#include "ops/ops_options.h"
#include "ops/ops_state.h"
#include "stream/consumer_runner.h"

namespace viewpipe::ops {

class OpsProcessor final : public Processor {
 public:
  // All pointers must outlive the processor; metrics may be null.
  OpsProcessor(Log* log, std::string topic, OpsState* state, Env* env, std::string dir,
               Clock* clock, MetricsRegistry* metrics, const OpsOptions& options);

  Result<std::map<PartitionId, Offset>> Restore() override;
  Status Process(std::span<const ConsumedRecord> records) override;
  Status Checkpoint(const std::map<PartitionId, Offset>& next_offsets) override;
  void Idle() override;

  std::string checkpoint_path() const;

 private:
  static constexpr int64_t kNoTime = INT64_MIN;
  struct PartitionState {
    Offset next = 0;
    int64_t time = kNoTime;
  };
  Status LoadCheckpoint(std::map<PartitionId, Offset>* offsets);
  // The watermark the partitions vouch for, or kNoTime.
  int64_t PartitionWatermark(bool* caught_up) const;
  void AfterBatch(SessionTracker& tracker, size_t records);
  void MaybePublish(bool force);
  void SyncMetrics();

  Log* log_;
  std::string topic_;
  OpsState* state_;
  Env* env_;
  std::string dir_;
  Clock* clock_;
  OpsOptions options_;
  std::map<PartitionId, PartitionState> partitions_;
  EventView event_;  // reused: its experiments vector keeps its capacity
  bool dirty_ = false;
  int64_t last_publish_ms_ = 0;
  int64_t last_gauges_ms_ = 0;
  SessionTracker::Stats synced_;

  Counter* events_ = nullptr;
  Counter* corrupt_ = nullptr;
  Counter* late_beyond_bound_ = nullptr;
  Counter* evicted_ = nullptr;
  Counter* trail_overflows_ = nullptr;
  Counter* restored_ = nullptr;
  Counter* rebuilt_ = nullptr;
  Gauge* sessions_ = nullptr;
  Gauge* state_bytes_ = nullptr;
  Gauge* session_bytes_ = nullptr;
  Gauge* watermark_ = nullptr;
  Gauge* as_of_ = nullptr;
  Gauge* checkpoint_bytes_ = nullptr;
  Histogram* checkpoint_seconds_ = nullptr;
};

}  // namespace viewpipe::ops
