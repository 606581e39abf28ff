#include "log/sync_workers.h"

namespace viewpipe {

SyncWorkers::SyncWorkers(int threads) {
  for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { WorkerLoop(); });
}

SyncWorkers::~SyncWorkers() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  work_cv_.notify_all();
  for (auto& t : threads_) t.join();
}

void SyncWorkers::Run(size_t n, const std::function<void(size_t)>& fn) {
  if (threads_.empty() || n <= 1) {
    for (size_t i = 0; i < n; ++i) fn(i);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    fn_ = &fn;
    n_ = n;
    finished_ = 0;
    next_ = 0;
    ++generation_;
  }
  work_cv_.notify_all();
  Drain();
  std::unique_lock<std::mutex> lock(mu_);
  done_cv_.wait(lock, [&] { return finished_ == n_; });
  fn_ = nullptr;
}

void SyncWorkers::Drain() {
  std::unique_lock<std::mutex> lock(mu_);
  // Claims under the lock, so a worker that wakes late never runs an index
  // of a job that has finished (whose fn may be gone).
  while (fn_ != nullptr && next_ < n_) {
    size_t i = next_++;
    const std::function<void(size_t)>* fn = fn_;
    lock.unlock();
    (*fn)(i);
    lock.lock();
    if (++finished_ == n_) done_cv_.notify_one();
  }
}

void SyncWorkers::WorkerLoop() {
  uint64_t seen = 0;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      work_cv_.wait(lock, [&] { return stop_ || generation_ != seen; });
      if (stop_) return;
      seen = generation_;
    }
    Drain();
  }
}

}  // namespace viewpipe
