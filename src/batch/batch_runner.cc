#include "batch/batch_runner.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <atomic>

namespace viewpipe::batch {

BatchRunner::BatchRunner(RunnerOptions options)
    : options_(std::move(options)),
      jobs_(JobOptions{options_.store, options_.env, JoinPath(options_.state_dir, "scratch"),
                       options_.catalog_path, options_.memory_limit,
                       options_.rows_per_bucket}),
      ledger_(options_.env, JoinPath(options_.state_dir, "runs.ndjson")) {}

std::string BatchRunner::LockPath(const std::string& run_key) const {
  return JoinPath(JoinPath(options_.state_dir, "locks"), run_key + ".lock");
}

template <typename Fn>
Result<JobResult> BatchRunner::Run(const std::string& run_key, std::string_view job,
                                   const std::string& partition, std::string_view trigger,
                                   Fn&& fn) {
  VP_RETURN_IF_ERROR(options_.env->CreateDirs(JoinPath(options_.state_dir, "locks")));
  auto lock = options_.env->LockFile(LockPath(run_key));
  if (!lock.ok()) {
    return Status::Aborted(run_key + " is already running (lock " + LockPath(run_key) + ")");
  }
  RunRecord r;
  r.start_ms = options_.clock->NowMs();
  static std::atomic<int64_t> seq{0};  // ids stay unique under a ManualClock
  r.id = std::to_string(r.start_ms) + "-" + std::to_string(getpid()) + "-" +
         std::to_string(seq.fetch_add(1)) + "-" + run_key;
  r.job = std::string(job);
  r.partition = partition;
  r.trigger = std::string(trigger);
  r.status = "running";
  VP_RETURN_IF_ERROR(ledger_.Append(r));
  Result<JobResult> result = fn();
  r.end_ms = options_.clock->NowMs();
  if (result.ok()) {
    r.status = "ok";
    r.rows = result->rows;
    r.bytes = result->bytes;
    r.provisional = result->provisional;
  } else {
    bool refused = result.status().code() == Status::Code::kInvalidArgument ||
                   result.status().IsNotFound();
    r.status = refused ? "refused" : "failed";
    r.error = result.status().ToString();
  }
  Status st = ledger_.Append(r);
  if (!st.ok()) spdlog::error("batch: run ledger: {}", st.ToString());
  return result;
}

Result<JobResult> BatchRunner::RunDaily(EventDate date, bool force, std::string_view trigger,
                                        const JobProgress& progress) {
  return Run(DailyRunKey(date), "daily", date.ToString(), trigger,
             [&] { return jobs_.Daily(date, force, progress); });
}

Result<JobResult> BatchRunner::RunWeekly(IsoWeek week, bool force, std::string_view trigger,
                                         const JobProgress& progress) {
  return Run(WeeklyRunKey(week), "weekly", week.ToString(), trigger,
             [&]() -> Result<JobResult> {
               VP_RETURN_IF_ERROR(RunDailiesOf(week, force, progress));
               return jobs_.Weekly(week, force, progress);
             });
}

Status BatchRunner::RunDailiesOf(IsoWeek week, bool force, const JobProgress& progress) {
  auto due = jobs_.DailiesDue(week, force);
  if (!due.ok()) return Status::OK();  // e.g. a day not sealed: Weekly refuses it
  for (EventDate date : *due) {
    JobProgress daily;
    if (progress) {
      daily = [&, date](int step, int steps, std::string_view what) {
        progress(step, steps, "daily " + date.ToString() + " first: " + std::string(what));
      };
    }
    auto r = RunDaily(date, force, WeeklyRunKey(week), daily);
    if (!r.ok()) return r.status();
  }
  return Status::OK();
}

Result<std::string> BatchRunner::RunsJson(size_t limit) {
  auto runs = ledger_.Read(limit);
  if (!runs.ok()) return runs.status();
  std::string out = "{\"runs\":[";
  bool first = true;
  for (RunRecord& r : *runs) {
    if (r.status == "running") {
      std::string key = r.job + "-" + r.partition;
      auto lock = options_.env->LockFile(LockPath(key));
      if (lock.ok()) r.status = "interrupted";  // nobody runs it: its process died
    }
    if (!first) out.push_back(',');
    first = false;
    out += RunRecordJson(r);
  }
  out += "]}";
  return out;
}

}  // namespace viewpipe::batch
