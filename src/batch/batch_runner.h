#pragma once
// BatchRunner: runs one daily or weekly job under its lock and records it
// in the run ledger. Used by the scheduler of `viewpipe serve` and by
// `viewpipe batch daily|weekly`, in the same or another process: the lock
// (<state_dir>/locks/<run_key>.lock, flock) makes a second run of the same
// job wait its turn (it is refused with Aborted, "already running").
//
// State under state_dir (<data_dir>/batch/): runs.ndjson, locks/, scratch/.
// Thread safe.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "batch/batch_jobs.h"
#include "batch/run_ledger.h"
#include "common/clock.h"

namespace viewpipe::batch {

struct RunnerOptions {
  ObjectStore* store = nullptr;  // the lake
  Env* env = nullptr;
  Clock* clock = nullptr;
  std::string state_dir;
  std::string catalog_path;
  std::string memory_limit = "1GB";
  int64_t rows_per_bucket = 3'000'000;  // JobOptions::rows_per_bucket
};

class BatchRunner {
 public:
  explicit BatchRunner(RunnerOptions options);

  Result<JobResult> RunDaily(EventDate date, bool force, std::string_view trigger,
                             const JobProgress& progress = nullptr);
  // Runs (each as its own daily run, trigger "weekly-YYYY-Www") the dailies
  // of the week's days whose sessions are missing or stale, then the
  // weekly job from them.
  Result<JobResult> RunWeekly(IsoWeek week, bool force, std::string_view trigger,
                              const JobProgress& progress = nullptr);
  // {"runs":[RunRecordJson...]}, newest first; a "running" run whose lock
  // is free (its process died) is shown as "interrupted".
  Result<std::string> RunsJson(size_t limit);

  BatchJobs* jobs() { return &jobs_; }
  RunLedger* ledger() { return &ledger_; }

 private:
  template <typename Fn>
  Result<JobResult> Run(const std::string& run_key, std::string_view job,
                        const std::string& partition, std::string_view trigger, Fn&& fn);
  std::string LockPath(const std::string& run_key) const;
  Status RunDailiesOf(IsoWeek week, bool force, const JobProgress& progress);

  RunnerOptions options_;
  BatchJobs jobs_;
  RunLedger ledger_;
};

}  // namespace viewpipe::batch
