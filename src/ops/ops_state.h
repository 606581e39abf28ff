#pragma once
// OpsState: the ops path's SessionTracker shared between the consumer
// thread and the HTTP threads.
//
// Thread safety, explicitly:
//   - The consumer thread is the only writer. It changes the tracker only
//     inside Write() (exclusive lock, held for one polled batch: a few ms),
//     and may read it without a lock at any other time (nobody else writes).
//   - HTTP threads read the tracker only inside Read() (shared lock) for
//     historical queries (at=, series), which are short (one pass over a
//     dimension's keys or a series' points).
//   - The live numbers go through immutable OpsSnapshots, published by the
//     consumer thread (Publish) and read lock-free (Latest); stream clients
//     wait for the next one with WaitForNewer. A stream client never holds
//     a lock while it writes to its socket, so a slow or dead client cannot
//     slow the consumer.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <shared_mutex>

#include "ops/ops_snapshot.h"
#include "ops/session_tracker.h"

namespace viewpipe::ops {

class OpsState {
 public:
  explicit OpsState(const TrackerOptions& options)
      : tracker_(std::make_unique<SessionTracker>(options)) {}

  // --- consumer thread
  template <typename Fn>
  auto Write(Fn&& fn) {
    std::unique_lock<std::shared_mutex> lock(mu_);
    return fn(*tracker_);
  }
  // The consumer thread's lock-free view of its own tracker.
  const SessionTracker& owner_view() const { return *tracker_; }
  // Replaces the tracker (restore from a checkpoint). Only before HTTP
  // threads read: owner_view() hands out the tracker unlocked.
  void Reset(std::unique_ptr<SessionTracker> tracker);
  // Publishes the snapshot of the tracker's newest complete second.
  void Publish();

  // --- any thread
  template <typename Fn>
  auto Read(Fn&& fn) const {
    std::shared_lock<std::shared_mutex> lock(mu_);
    return fn(static_cast<const SessionTracker&>(*tracker_));
  }
  // The newest snapshot; null before the first event.
  std::shared_ptr<const OpsSnapshot> Latest() const { return latest_.load(); }
  // Waits until a snapshot with version > after exists, Wake() is called or
  // timeout passes; returns the newest snapshot (maybe still the old one).
  std::shared_ptr<const OpsSnapshot> WaitForNewer(uint64_t after,
                                                  std::chrono::milliseconds timeout);
  // Wakes every waiter (shutdown).
  void Wake();

 private:
  mutable std::shared_mutex mu_;
  std::unique_ptr<SessionTracker> tracker_;
  std::atomic<std::shared_ptr<const OpsSnapshot>> latest_;
  uint64_t version_ = 0;  // consumer thread only
  std::mutex wait_mu_;
  std::condition_variable wait_cv_;
  uint64_t wake_generation_ = 0;
};

}  // namespace viewpipe::ops
