#pragma once
// SyncWorkers: a few threads that let the group-commit leader fdatasync
// several partition files at once (the file system can then share one
// journal commit between them). With 0 threads everything runs on the
// caller.
//
// Thread safety: Run is called by one thread at a time (the leader).

#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace viewpipe {

class SyncWorkers {
 public:
  explicit SyncWorkers(int threads);
  ~SyncWorkers();
  SyncWorkers(const SyncWorkers&) = delete;
  SyncWorkers& operator=(const SyncWorkers&) = delete;

  // Calls fn(i) for every i in [0, n), spread over the workers and the
  // calling thread, and returns when all calls have returned.
  void Run(size_t n, const std::function<void(size_t)>& fn);

 private:
  void WorkerLoop();
  // Claims and runs indices of the current job until none is left.
  void Drain();

  std::vector<std::thread> threads_;
  std::mutex mu_;
  std::condition_variable work_cv_;
  std::condition_variable done_cv_;
  const std::function<void(size_t)>* fn_ = nullptr;  // guarded by mu_
  size_t n_ = 0;                                     // guarded by mu_
  uint64_t generation_ = 0;                          // guarded by mu_
  size_t finished_ = 0;                              // guarded by mu_
  bool stop_ = false;                                // guarded by mu_
  size_t next_ = 0;                                  // guarded by mu_
};

}  // namespace viewpipe
