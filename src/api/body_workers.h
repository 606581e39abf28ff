#pragma once
// BodyWorkers: the threads that run the event-loop server's body routes
// (lookup_http_server.h), whose handlers may block (POST /v1/events waits
// for the log's group-commit fsync). A loop thread hands a job over and
// goes on serving its other connections; the job posts its answer back.
//
// Thread safety: Submit from any thread.

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace viewpipe {

class BodyWorkers {
 public:
  BodyWorkers() = default;
  ~BodyWorkers();  // Stop()
  BodyWorkers(const BodyWorkers&) = delete;
  BodyWorkers& operator=(const BodyWorkers&) = delete;

  // Starts `threads` threads (named vp-body).
  void Start(int threads);
  // Runs job on a worker, in submission order of pickup.
  void Submit(std::function<void()> job);
  // Lets the running jobs finish, drops the queued ones, joins. Idempotent.
  void Stop();

 private:
  void Run();

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;  // guarded by mu_
  bool stopping_ = false;                    // guarded by mu_
  std::vector<std::thread> threads_;
};

}  // namespace viewpipe
