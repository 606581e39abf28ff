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
// Background checkpoints (OpsOptions::background_checkpoint): writing the
// state takes ~1.4 s per million sessions, too long to stop the consumer
// for. Checkpoint() forks instead: the child process writes the
// copy-on-write image of the state as of the fork (and the offsets it
// covers), fsyncs and renames it, and exits; the consumer thread pauses only
// for the fork (~10-30 ms per GB). One child at a time: a Checkpoint() while
// the previous one is still writing does nothing (so the group's committed
// offsets can run ahead of the durable checkpoint; Restore never uses them).
// The child closes every inherited descriptor first (the log's lock stays
// with the server), dies with the server (PR_SET_PDEATHSIG), and never
// touches a lock or the log. Memory: pages the consumer changes while the
// child writes are copied, up to the size of the state. Stop, and tests,
// use SetSynchronous(true): the checkpoint is written on the calling thread
// once the child is done.
//
// Thread safety: called on the runner's thread only; shares the tracker
// through OpsState.

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <map>
#include <string>

#include "common/clock.h"
#include "common/env.h"
#include "common/metrics.h"
#include "log/log.h"
#include "event/codec.h"
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

  // From now on Checkpoint() writes on the calling thread (after waiting
  // for a background writer). Set before ConsumerRunner::Stop.
  void SetSynchronous(bool on) { synchronous_ = on; }
  // Waits for a background checkpoint writer, if any; its status.
  Status WaitForBackgroundCheckpoint();
  std::string checkpoint_path() const;

 private:
  static constexpr int64_t kNoTime = INT64_MIN;
  struct PartitionState {
    Offset next = 0;
    int64_t time = kNoTime;
  };
  Status LoadCheckpoint(std::map<PartitionId, Offset>* offsets);
  // Writes the checkpoint of the current state and partitions_ (any thread
  // that owns the state: the consumer, or a forked child).
  Status WriteCheckpoint();
  [[noreturn]] void RunChild();
  // Collects a finished background writer (waiting for it with block).
  Status ReapChild(bool block);
  void RemoveStaleTemporaries();
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
  DecodedIds event_ids_;  // event_'s compact ids
  bool dirty_ = false;
  int64_t last_publish_ms_ = 0;
  int64_t last_gauges_ms_ = 0;
  SessionTracker::Stats synced_;
  std::atomic<bool> synchronous_{false};
  pid_t child_ = -1;  // the background checkpoint writer
  int64_t child_started_us_ = 0;

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
