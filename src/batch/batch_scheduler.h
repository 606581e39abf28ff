#pragma once
// BatchScheduler: inside `viewpipe serve`, runs the daily job of every
// sealed lake day and the weekly job of every ISO week whose seven days are
// sealed, whenever their output is missing, provisional or built from other
// inputs (a late event re-sealed into a day gives the day a new manifest
// version: its daily job and its week run again). Looks back lookback_days
// from the clock's today, so after downtime the missed runs are caught up,
// days in date order, then weeks in order. One pass at a time; each run
// holds its job's lock (BatchRunner), so a manual run of the same job
// meanwhile is not run twice.
//
// A run that fails (a full disk, a DuckDB error) is retried after
// retry_ms, doubling up to an hour, so a broken job does not spin.
//
// Thread safe. RunOnce() is what the background thread calls every poll_ms
// (tests call it directly with a ManualClock).

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "batch/batch_runner.h"

namespace viewpipe::batch {

struct SchedulerOptions {
  int lookback_days = 35;
  int64_t poll_ms = 10000;
  int nice = 10;  // the scheduler thread's nice value (0: unchanged)
  int64_t retry_ms = 60000;  // a failed run is retried after this (doubling, up to 1 h)
  // The scheduler thread runs as SCHED_IDLE with the idle I/O class: it
  // gets CPU and disk only when the hot paths do not want them (Linux).
  // false: only `nice` applies.
  bool idle_class = true;
};

class BatchScheduler {
 public:
  // runner, store and clock must outlive the scheduler.
  BatchScheduler(BatchRunner* runner, ObjectStore* store, Clock* clock, SchedulerOptions options);
  ~BatchScheduler();

  // One pass: runs every due job in order; returns the run keys it ran
  // (successfully or not).
  Result<std::vector<std::string>> RunOnce();
  void Start();
  void Stop();

 private:
  void Loop();
  void LowerPriority();
  // False while a failed run waits for its retry time.
  bool MayRun(const std::string& run_key);
  void Record(const std::string& run_key, bool ok);

  BatchRunner* runner_;
  ObjectStore* store_;
  Clock* clock_;
  SchedulerOptions options_;
  std::mutex pass_mu_;  // one pass at a time; guards retry_
  std::map<std::string, std::pair<int64_t, int64_t>> retry_;  // run key -> (retry at, backoff)
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::atomic<bool> stop_requested_{false};  // ends a pass between runs
  std::thread thread_;
};

}  // namespace viewpipe::batch
