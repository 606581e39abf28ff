#pragma once
// ConsumerRunner: the loop every consumer path runs on its own thread.
//
//   Restore()  -> the offsets the path's durable state corresponds to
//   Poll       -> Process(records)              (repeat)
//   every checkpoint_interval: Checkpoint(next offsets), then Commit them
//
// A path's output and its offsets move together: the group's committed
// offset is only advanced after the path says its state up to there is
// durable, so a kill -9 at any point replays from a consistent position and
// the path processes each record once into its durable state (paths whose
// output is idempotent may checkpoint nothing and rely on Commit alone).
//
// Each runner has its own consumer group, so a slow or dead path never slows
// another. Thread safety: Start/Stop from one thread; the Processor is called
// on the runner's thread only.

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/metrics.h"
#include "common/thread_sched.h"
#include "log/log.h"

namespace viewpipe {

class Processor {
 public:
  virtual ~Processor() = default;
  // The offsets (next record per partition) the processor's durable state
  // covers; the runner seeks there. Empty: use the group's committed offsets.
  virtual Result<std::map<PartitionId, Offset>> Restore() = 0;
  // Handles records in offset order per partition.
  virtual Status Process(std::span<const ConsumedRecord> records) = 0;
  // Makes the state durable up to next_offsets (exclusive) before the runner
  // commits them. Default: nothing to persist.
  virtual Status Checkpoint(const std::map<PartitionId, Offset>& /*next_offsets*/) {
    return Status::OK();
  }
  // Called when a poll returned nothing (the path is caught up): a chance to
  // advance time-driven state (watermarks, windows) without new records.
  virtual void Idle() {}

  // --- Sharing a group's partitions with other processes (docs/scale.md).
  // True: the processor keeps its state per partition. The runner then
  // calls Reassign(lost = {}, gained = the first assignment) after Restore,
  // and again whenever the group moves partitions; its Kafka commits are
  // then best effort (the processor restores from its own checkpoints).
  virtual bool PerPartitionState() const { return false; }
  // The group moved partitions: `lost` are no longer this process's (their
  // records of the current batch were not given to Process), `gained` are
  // new (their records of the current batch were dropped). Returns where
  // to read each gained partition; a partition left out starts at the
  // group's committed offset. The default refuses: a path with one state
  // for all its partitions runs as the only member of its group, and
  // stops (with this error) rather than count or write twice.
  virtual Result<std::map<PartitionId, Offset>> Reassign(const std::vector<PartitionId>& lost,
                                                         const std::vector<PartitionId>& gained);
};

struct ConsumerRunnerOptions {
  std::string group;
  std::string topic;
  size_t max_poll_records = 4096;
  std::chrono::milliseconds poll_timeout{100};
  std::chrono::milliseconds checkpoint_interval{1000};
  // The runner thread's scheduling (common/thread_sched.h). Default:
  // PipelineThreadSched(), set once by `serve` (unchanged unless set).
  ThreadSched sched = PipelineThreadSched();
};

class ConsumerRunner {
 public:
  // log, processor, metrics (may be null) must outlive the runner.
  ConsumerRunner(Log* log, Processor* processor, MetricsRegistry* metrics,
                 ConsumerRunnerOptions options);
  ~ConsumerRunner();

  // Subscribes, restores and starts the thread.
  Status Start();
  // Checkpoints what was processed, commits and joins the thread.
  void Stop();
  // The error that stopped the runner, or OK while it runs.
  Status error() const;
  // Records processed since Start.
  uint64_t processed() const { return processed_.load(); }

 private:
  void Run();
  Status CheckpointAndCommit();
  // Compares the consumer's assignment with assignment_ and hands a change
  // to the processor; *kept is then the partitions of the old assignment
  // still owned (the ones whose polled records may be processed).
  Status FollowAssignment(std::vector<PartitionId>* kept);
  Status ApplyReassign(const std::vector<PartitionId>& lost,
                       const std::vector<PartitionId>& gained);

  Log* log_;
  Processor* processor_;
  ConsumerRunnerOptions options_;
  std::unique_ptr<Consumer> consumer_;
  std::map<PartitionId, Offset> next_;  // one past the last processed record
  std::vector<PartitionId> assignment_;  // sorted
  bool dirty_ = false;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> processed_{0};
  mutable std::mutex error_mu_;
  Status error_;
  Counter* records_metric_ = nullptr;
  Histogram* batch_seconds_ = nullptr;
  std::thread thread_;
};

}  // namespace viewpipe
