#include "ops/ops_state.h"

namespace viewpipe::ops {

void OpsState::Reset(std::unique_ptr<SessionTracker> tracker) {
  std::unique_lock<std::shared_mutex> lock(mu_);
  tracker_ = std::move(tracker);
}

void OpsState::Publish() {
  if (!tracker_->has_time()) return;
  // Reading the tracker without the lock is safe here: only this thread writes.
  std::shared_ptr<const OpsSnapshot> snap = BuildSnapshot(*tracker_, ++version_);
  latest_.store(std::move(snap));
  {
    std::lock_guard<std::mutex> lock(wait_mu_);
    ++wake_generation_;
  }
  wait_cv_.notify_all();
}

std::shared_ptr<const OpsSnapshot> OpsState::WaitForNewer(uint64_t after,
                                                           std::chrono::milliseconds timeout) {
  std::shared_ptr<const OpsSnapshot> snap = latest_.load();
  if (snap != nullptr && snap->version > after) return snap;
  std::unique_lock<std::mutex> lock(wait_mu_);
  const uint64_t generation = wake_generation_;
  // Publish stores before it bumps the generation under wait_mu_, so checking
  // the snapshot here (under wait_mu_) cannot miss a publish.
  wait_cv_.wait_for(lock, timeout, [&] {
    if (wake_generation_ != generation) return true;
    std::shared_ptr<const OpsSnapshot> now = latest_.load();
    return now != nullptr && now->version > after;
  });
  return latest_.load();
}

void OpsState::Wake() {
  {
    std::lock_guard<std::mutex> lock(wait_mu_);
    ++wake_generation_;
  }
  wait_cv_.notify_all();
}

}  // namespace viewpipe::ops
