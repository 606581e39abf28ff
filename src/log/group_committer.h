#pragma once
// GroupCommitter: turns many concurrent Appends into few fsyncs.
//
// Each Append queues its batches (at most one per partition) and waits. The
// first waiter that finds no leader becomes the leader: it takes the whole
// queue as one group, writes it with one write per partition file,
// fdatasyncs each touched file, publishes the new durable ends, wakes the
// consumers and completes every waiter of the group. Appends arriving
// meanwhile queue up for the next group, so the group grows with the load.
// Offsets are handed out at queue time, in queue order.
//
// Failure semantics:
//   - write fails (NoSpace, IOError): every touched file of the group is cut
//     back to its durable size and the group's waiters get the error; the
//     queued appends are renumbered and the log stays usable.
//   - fdatasync fails: the group's waiters and everything queued get
//     IOError and the log is poisoned: every later Commit fails with IOError
//     until the log is reopened. After a failed fsync the kernel may have
//     dropped the dirty pages, so neither a retry nor re-reading the page
//     cache can tell what is on disk; recovery at the next Open (after a
//     restart, ideally) re-validates the files. Partitions whose fsync
//     succeeded in that group do publish their records: they are durable.
//   - a failure to cut back after a failed write also poisons the log.
//
// Thread safety: Commit is called from any number of threads.

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "common/env.h"
#include "log/durable_signal.h"
#include "log/log_metrics.h"
#include "log/partition.h"
#include "log/sync_workers.h"

namespace viewpipe {

// One batch of one Append, built by the caller (see record_batch.h).
struct PendingBatch {
  int partition = 0;            // index into the committer's partitions
  std::string* data = nullptr;  // the finished, unsealed batch; caller-owned
  uint32_t count = 0;
  int64_t max_ts = 0;
  Offset base = 0;  // set by Commit
};

class GroupCommitter {
 public:
  struct Options {
    Env* env = nullptr;
    std::string dir;                 // where free space is measured
    uint64_t max_pending_bytes = 0;  // queued + in flight
    uint64_t min_free_bytes = 0;     // 0: no check
    int sync_threads = 0;            // extra threads fsyncing partitions in parallel
  };

  // partitions, signal and metrics must outlive the committer.
  GroupCommitter(std::vector<Partition*> partitions, const Options& options, DurableSignal* signal,
                 const LogMetrics* metrics);
  ~GroupCommitter();

  // Gives each batch its base offset, queues them and returns once they are
  // durable (OK) or failed; see the header comment. bytes: their total size.
  // The batches' data must stay untouched until Commit returns.
  Status Commit(std::span<PendingBatch> batches, uint64_t bytes);

  // OK, or the error that poisoned the log.
  Status health() const;
  // Waits for the running group and fails later Commits with Aborted.
  void Close();

 private:
  struct Waiter {
    std::span<PendingBatch> batches;
    uint64_t bytes = 0;
    Status status;
    bool done = false;
  };

  Status CheckFreeSpace(uint64_t bytes);
  void Number(Waiter* w);
  // REQUIRES: lock held, no leader. Returns with lock held.
  void LeadOneGroup(std::unique_lock<std::mutex>& lock);
  void Finish(const Status& st);
  // The leader's IO, outside the lock. Sets poison_ when the log must stop.
  Status WriteGroup();
  // Concatenates and seals the group's batches per partition; returns records.
  uint64_t GatherGroup();
  // One write per touched partition; on failure cuts them all back.
  Status WriteTouched();
  Status SyncTouched();

  const std::vector<Partition*> partitions_;
  const Options options_;
  DurableSignal* const signal_;
  const LogMetrics* const metrics_;
  SyncWorkers sync_workers_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Waiter*> queue_;  // guarded by mu_
  std::vector<Offset> next_;    // next offset per partition; guarded by mu_
  uint64_t queued_bytes_ = 0;   // queued + in flight; guarded by mu_
  bool leader_active_ = false;  // guarded by mu_
  bool closed_ = false;         // guarded by mu_
  Status failed_;               // guarded by mu_

  // The leader's state: only the thread with leader_active_ touches these.
  std::vector<Waiter*> group_;
  std::vector<std::string> write_buf_;  // per partition
  std::vector<Offset> group_end_;
  std::vector<int64_t> group_max_ts_;
  std::vector<int> touched_;
  Status poison_;
};

}  // namespace viewpipe
