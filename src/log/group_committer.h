#pragma once
// GroupCommitter: turns many concurrent Appends into few fsyncs.
//
// Each Append queues its batches (at most one per partition) and waits. The
// first waiter that finds no leader becomes the leader: it takes the whole
// queue as one group, seals each batch in place and writes a partition's
// batches with one vectored write (no gather copy), fdatasyncs each touched
// file, publishes the new durable ends, wakes the consumers and completes
// every waiter of the group. Appends arriving meanwhile queue up for the
// next group, so the group grows with the load. Offsets are handed out at
// queue time, in queue order.
//
// Wake-ups: a waiter sleeps on its own condition variable, not on a shared
// one. The finishing leader hands leadership to the oldest queued waiter
// (when there is one) and then wakes exactly the waiters whose fate is now
// known: each is woken once, when its group is durable or failed (or, for
// the next leader, when it must lead). No thundering herd on the mutex, no
// queued waiter woken only to sleep again.
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
#include <string_view>
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
  // The finished batch; caller-owned. The leader seals it in place (base
  // offset and crc), again if a failed group made it renumber.
  std::span<char> data;
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
    enum class Wake { kNone, kDone, kLead };
    std::span<PendingBatch> batches;
    uint64_t bytes = 0;
    Status status;      // set under mu_ before the waiter is woken kDone
    bool done = false;  // guarded by mu_
    // The waiter's own sleep, so a wake-up reaches exactly one thread.
    std::mutex wake_mu;
    std::condition_variable wake_cv;
    Wake wake = Wake::kNone;  // guarded by wake_mu

    // Sets wake and signals under wake_mu: the waiter (and this object,
    // on its stack) may be gone as soon as wake_mu is released.
    void Signal(Wake w);
    Wake Sleep();
  };

  Status CheckFreeSpace(uint64_t bytes);
  void Number(Waiter* w);
  // REQUIRES: lock held, leader_active_ set by this thread. Writes the
  // queue as one group, completes it and hands leadership on; returns with
  // the lock released.
  void LeadOneGroup(std::unique_lock<std::mutex>& lock);
  // REQUIRES: lock held. Completes the group (and everything queued when
  // the log is poisoned) into to_wake_, elects the next leader.
  void Finish(const Status& st);
  // The leader's IO, outside the lock. Sets poison_ when the log must stop.
  Status WriteGroup();
  // Seals the group's batches in place and lists them per partition;
  // returns records.
  uint64_t GatherGroup();
  // One vectored write per touched partition; on failure cuts them all back.
  Status WriteTouched();
  Status SyncTouched();

  const std::vector<Partition*> partitions_;
  const Options options_;
  DurableSignal* const signal_;
  const LogMetrics* const metrics_;
  SyncWorkers sync_workers_;

  mutable std::mutex mu_;
  std::condition_variable closed_cv_;  // Close waits here for the last group
  std::vector<Waiter*> queue_;         // guarded by mu_
  std::vector<Offset> next_;    // next offset per partition; guarded by mu_
  uint64_t queued_bytes_ = 0;   // queued + in flight; guarded by mu_
  bool leader_active_ = false;  // guarded by mu_
  bool closed_ = false;         // guarded by mu_
  Status failed_;               // guarded by mu_

  // The leader's state: only the thread with leader_active_ touches these.
  std::vector<Waiter*> group_;
  std::vector<std::vector<std::string_view>> write_parts_;  // per partition
  std::vector<uint64_t> write_bytes_;                      // per partition
  std::vector<Waiter*> to_wake_;  // completed by Finish, woken after unlock
  Waiter* next_leader_ = nullptr;
  std::vector<Offset> group_end_;
  std::vector<int64_t> group_max_ts_;
  std::vector<int> touched_;
  Status poison_;
};

}  // namespace viewpipe
