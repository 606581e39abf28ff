#pragma once
// DurableSignal: wakes consumers when new records become durable. The
// group-commit leader calls Notify after every commit; a consumer reads
// Version(), looks for data, and when it finds none waits for the version to
// change. No busy polling, and no wakeup is lost between look and wait.
// Thread safe.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>

namespace viewpipe {

class DurableSignal {
 public:
  uint64_t Version() const {
    std::lock_guard<std::mutex> lock(mu_);
    return version_;
  }
  void Notify() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++version_;
    }
    cv_.notify_all();
  }
  // Waits until the version differs from seen; false when deadline passed.
  bool WaitForChange(uint64_t seen, std::chrono::steady_clock::time_point deadline) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_until(lock, deadline, [&] { return version_ != seen; });
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  uint64_t version_ = 0;
};

}  // namespace viewpipe
