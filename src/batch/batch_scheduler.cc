#include "batch/batch_scheduler.h"

#include <pthread.h>
#include <sched.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <set>

namespace viewpipe::batch {

BatchScheduler::BatchScheduler(BatchRunner* runner, ObjectStore* store, Clock* clock,
                               SchedulerOptions options)
    : runner_(runner), store_(store), clock_(clock), options_(options) {}

BatchScheduler::~BatchScheduler() { Stop(); }

Result<std::vector<std::string>> BatchScheduler::RunOnce() {
  std::lock_guard<std::mutex> pass(pass_mu_);
  LakeReader reader(store_);
  auto root = reader.Root();
  if (!root.ok()) return root.status();
  EventDate from{EventDate::OfMs(clock_->NowMs()).days - options_.lookback_days};
  std::vector<std::string> ran;
  std::set<IsoWeek> weeks;
  for (const auto& [date, ref] : root->days) {  // date order
    if (stop_requested_) break;
    if (date < from || !ref.sealed) continue;
    weeks.insert(IsoWeek::Of(date));
    auto due = runner_->jobs()->DailyDue(date, *root);
    if (!due.ok() || !*due || !MayRun(DailyRunKey(date))) continue;
    auto r = runner_->RunDaily(date, false, "schedule");
    ran.push_back(DailyRunKey(date));
    Record(DailyRunKey(date), r.ok());
    if (!r.ok()) spdlog::warn("batch: {}: {}", DailyRunKey(date), r.status().ToString());
  }
  for (IsoWeek w : weeks) {
    if (stop_requested_) break;
    auto due = runner_->jobs()->WeeklyDue(w, *root);  // InvalidArgument: not all sealed
    if (!due.ok() || !*due || !MayRun(WeeklyRunKey(w))) continue;
    auto r = runner_->RunWeekly(w, false, "schedule");
    ran.push_back(WeeklyRunKey(w));
    Record(WeeklyRunKey(w), r.ok());
    if (!r.ok()) spdlog::warn("batch: {}: {}", WeeklyRunKey(w), r.status().ToString());
  }
  return ran;
}

bool BatchScheduler::MayRun(const std::string& run_key) {
  auto it = retry_.find(run_key);
  return it == retry_.end() || clock_->NowMs() >= it->second.first;
}

void BatchScheduler::Record(const std::string& run_key, bool ok) {
  if (ok) {
    retry_.erase(run_key);
    return;
  }
  auto [it, fresh] = retry_.try_emplace(run_key, 0, options_.retry_ms);
  if (!fresh) it->second.second = std::min<int64_t>(it->second.second * 2, 3600 * 1000);
  it->second.first = clock_->NowMs() + it->second.second;
}

void BatchScheduler::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (thread_.joinable()) return;
  stopping_ = false;
  stop_requested_ = false;
  thread_ = std::thread([this] { Loop(); });
}

void BatchScheduler::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  stop_requested_ = true;
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

// Batch work yields the CPU and the disk to the hot paths (ops, SRE) of
// the same process; DuckDB runs the jobs on this thread (threads = 1).
void BatchScheduler::LowerPriority() {
  if (options_.nice != 0) setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), options_.nice);
  if (!options_.idle_class) return;
  sched_param param{};
  if (pthread_setschedparam(pthread_self(), SCHED_IDLE, &param) != 0) {
    spdlog::warn("batch: could not run the scheduler thread as SCHED_IDLE");
  }
  constexpr int kIoprioWhoProcess = 1, kIoprioClassIdle = 3, kIoprioClassShift = 13;
  if (syscall(SYS_ioprio_set, kIoprioWhoProcess, gettid(),
              kIoprioClassIdle << kIoprioClassShift) != 0) {
    spdlog::warn("batch: could not give the scheduler thread the idle I/O class");
  }
}

void BatchScheduler::Loop() {
  LowerPriority();
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    lock.unlock();
    auto ran = RunOnce();
    if (!ran.ok()) spdlog::warn("batch: scheduler pass: {}", ran.status().ToString());
    lock.lock();
    cv_.wait_for(lock, std::chrono::milliseconds(options_.poll_ms), [this] { return stopping_; });
  }
}

}  // namespace viewpipe::batch
