// Write path failures: full disk, failed writes and fsyncs, a full buffer.

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <future>
#include <map>
#include <mutex>
#include <thread>

#include "log/file_log.h"
#include "log/log_test_util.h"

namespace viewpipe {
namespace {

using FailureTest = LogTest;

// Holds every fsync of the fault-injection Env until Release().
class SyncGate {
 public:
  explicit SyncGate(FaultInjectionEnv* env) : env_(env) {
    env_->SetBeforeSyncHook([this](const std::string&) {
      std::unique_lock<std::mutex> lock(mu_);
      ++waiting_;
      cv_.notify_all();
      cv_.wait(lock, [this] { return open_; });
    });
  }
  ~SyncGate() {
    Release();
    env_->SetBeforeSyncHook(nullptr);
  }
  void WaitForASync() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return waiting_ > 0; });
  }
  void Release() {
    std::lock_guard<std::mutex> lock(mu_);
    open_ = true;
    cv_.notify_all();
  }

 private:
  FaultInjectionEnv* env_;
  std::mutex mu_;
  std::condition_variable cv_;
  int waiting_ = 0;
  bool open_ = false;
};

TEST_F(FailureTest, FullDiskFailsTheAppendAndLeavesNothingHalfVisible) {
  auto log = Open();
  ASSERT_TRUE(AppendN(log.get(), 5, "before").ok());
  uint64_t size = FileSize(SegmentPath(0));
  env_.SetSpaceLimit(env_.UsedBytes() + 50);  // room for part of the next batch
  Status st = AppendN(log.get(), 20, "full");
  EXPECT_TRUE(st.IsNoSpace()) << st.ToString();
  EXPECT_EQ(log->EndOffset("t", 0), 5);
  EXPECT_EQ(FileSize(SegmentPath(0)), size) << "the partial write was cut back";
  EXPECT_EQ(ReadAll(log.get()).size(), 5u);
  EXPECT_TRUE(log->Health().ok()) << "a failed write does not poison the log";
  env_.SetSpaceLimit(FaultInjectionEnv::kNoLimit);  // space frees up
  std::vector<Offset> offsets;
  ASSERT_TRUE(AppendN(log.get(), 2, "after", "t", 0, kT0, &offsets).ok());
  EXPECT_EQ(offsets, (std::vector<Offset>{5, 6}));
  log.reset();
  RecoveryReport report;
  log = Open(&report);
  EXPECT_TRUE(report.Clean()) << report.ToString();
  auto recs = ReadAll(log.get());
  ASSERT_EQ(recs.size(), 7u);
  EXPECT_EQ(recs[5].value, "after-0");
}

TEST_F(FailureTest, MinFreeBytesRefusesBeforeWriting) {
  options_.min_free_bytes = 10000;
  auto log = Open();
  env_.SetSpaceLimit(env_.UsedBytes() + 5000);
  uint64_t used = env_.UsedBytes();
  Status st = AppendN(log.get(), 5, "x");
  EXPECT_TRUE(st.IsNoSpace()) << st.ToString();
  EXPECT_EQ(env_.UsedBytes(), used) << "nothing was written";
  env_.SetSpaceLimit(env_.UsedBytes() + 100000);
  EXPECT_TRUE(AppendN(log.get(), 5, "x").ok()) << "usable again once space is free";
}

TEST_F(FailureTest, FailedWriteIsRecoverable) {
  auto log = Open();
  ASSERT_TRUE(AppendN(log.get(), 3, "a").ok());
  env_.SetWriteError(true);
  EXPECT_EQ(AppendN(log.get(), 3, "b").code(), Status::Code::kIOError);
  env_.SetWriteError(false);
  std::vector<Offset> offsets;
  ASSERT_TRUE(AppendN(log.get(), 1, "c", "t", 0, kT0, &offsets).ok());
  EXPECT_EQ(offsets[0], 3);
  auto recs = ReadAll(log.get());
  ASSERT_EQ(recs.size(), 4u);
  EXPECT_EQ(recs[3].value, "c-0");
}

TEST_F(FailureTest, FailedFsyncPoisonsTheLogUntilReopened) {
  auto log = Open();
  ASSERT_TRUE(AppendN(log.get(), 3, "a").ok());
  env_.SetSyncError(true);
  Status st = AppendN(log.get(), 3, "b");
  EXPECT_EQ(st.code(), Status::Code::kIOError);
  EXPECT_NE(st.message().find("reopened"), std::string::npos) << st.ToString();
  EXPECT_EQ(log->EndOffset("t", 0), 3) << "unsynced records are never visible";
  EXPECT_EQ(ReadAll(log.get()).size(), 3u);
  EXPECT_FALSE(log->Health().ok());
  env_.SetSyncError(false);
  EXPECT_EQ(AppendN(log.get(), 1, "c").code(), Status::Code::kIOError) << "still poisoned";
  log.reset();
  log = Open();
  EXPECT_TRUE(log->Health().ok());
  ASSERT_TRUE(AppendN(log.get(), 1, "d").ok());
  auto recs = ReadAll(log.get());
  // "b" was written but its fsync failed: it may or may not have survived.
  ASSERT_TRUE(recs.size() == 4u || recs.size() == 7u) << recs.size();
  EXPECT_EQ(recs.back().value, "d-0");
}

TEST_F(FailureTest, ConsumersNeverSeeRecordsBeforeTheirFsync) {
  auto log = Open();
  auto consumer = log->Subscribe("g", "t");
  ASSERT_TRUE(consumer.ok());
  auto gate = std::make_unique<SyncGate>(&env_);
  auto append = std::async(std::launch::async, [&] { return AppendN(log.get(), 4, "x"); });
  gate->WaitForASync();
  EXPECT_GT(FileSize(SegmentPath(0)), 0u) << "written, not yet synced";
  EXPECT_EQ(log->EndOffset("t", 0), 0);
  EXPECT_EQ(ReadAll(log.get()).size(), 0u);
  auto polled = (*consumer)->Poll(10, std::chrono::milliseconds(20));
  ASSERT_TRUE(polled.ok());
  EXPECT_TRUE(polled->empty());
  gate->Release();
  ASSERT_TRUE(append.get().ok());
  polled = (*consumer)->Poll(10, std::chrono::milliseconds(1000));
  ASSERT_TRUE(polled.ok());
  EXPECT_EQ(polled->size(), 4u);
}

// Appends queued behind a group whose fsync is held: the finishing leader
// hands leadership to one of them; their group's write fails, so each gets
// the error (each woken exactly once: a lost wake-up hangs the test) and the
// log goes on at the offset after the first group.
TEST_F(FailureTest, QueuedAppendsBehindAFailedWriteAllGetTheErrorAndTheLogGoesOn) {
  auto log = Open();
  auto gate = std::make_unique<SyncGate>(&env_);
  auto first = std::async(std::launch::async, [&] { return AppendN(log.get(), 3, "a"); });
  gate->WaitForASync();
  env_.SetWriteError(true);  // the first group is written; the next write fails
  std::vector<std::future<Status>> queued;
  for (int i = 0; i < 6; ++i) {
    queued.push_back(std::async(std::launch::async,
                                [&, i] { return AppendN(log.get(), 2, "q" + std::to_string(i)); }));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // let them queue
  gate->Release();
  EXPECT_TRUE(first.get().ok());
  for (auto& q : queued) EXPECT_EQ(q.get().code(), Status::Code::kIOError);
  env_.SetWriteError(false);
  EXPECT_TRUE(log->Health().ok());
  std::vector<Offset> offsets;
  ASSERT_TRUE(AppendN(log.get(), 2, "after", "t", 0, kT0, &offsets).ok());
  EXPECT_EQ(offsets, (std::vector<Offset>{3, 4}));
  auto recs = ReadAll(log.get());
  ASSERT_EQ(recs.size(), 5u);
  EXPECT_EQ(recs[3].value, "after-0");
}

// A failed fsync poisons the log: the group and every append queued behind
// it get the error and return (none left asleep), later ones too.
TEST_F(FailureTest, FailedFsyncWakesEveryQueuedAppendWithTheError) {
  auto log = Open();
  auto gate = std::make_unique<SyncGate>(&env_);
  auto first = std::async(std::launch::async, [&] { return AppendN(log.get(), 3, "a"); });
  gate->WaitForASync();
  env_.SetSyncError(true);  // the held fsync fails once released
  std::vector<std::future<Status>> queued;
  for (int i = 0; i < 6; ++i) {
    queued.push_back(std::async(std::launch::async,
                                [&, i] { return AppendN(log.get(), 2, "q" + std::to_string(i)); }));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  gate->Release();
  EXPECT_EQ(first.get().code(), Status::Code::kIOError);
  for (auto& q : queued) EXPECT_EQ(q.get().code(), Status::Code::kIOError);
  EXPECT_EQ(log->EndOffset("t", 0), 0);
  EXPECT_FALSE(log->Health().ok());
  env_.SetSyncError(false);
  EXPECT_EQ(AppendN(log.get(), 1, "c").code(), Status::Code::kIOError);
}

// Write errors switched on and off while many threads append: groups fail,
// the appends queued behind them are renumbered and their batches (sealed
// in place) sealed again. Every append that returned OK must be read back
// at its offsets with its values, offsets dense, before and after a reopen
// (which checks every batch's crc and base offset).
TEST_F(FailureTest, AppendsRenumberedAfterFailedWritesReadBackIntact) {
  auto log = Open();
  constexpr int kThreads = 8, kRounds = 60;
  std::atomic<bool> stop{false};
  std::thread flipper([&] {
    for (bool on = true; !stop.load(); on = !on) {
      env_.SetWriteError(on);
      std::this_thread::sleep_for(std::chrono::microseconds(on ? 300 : 1500));
    }
    env_.SetWriteError(false);
  });
  std::mutex mu;
  std::map<Offset, std::string> accepted;  // offset -> value
  std::atomic<int> failed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kRounds; ++i) {
        std::string prefix = std::to_string(t) + "." + std::to_string(i);
        std::vector<Offset> offsets;
        Status st;
        // Retried until accepted, as a client would; failures are fast, so
        // without retries a flipper slow to get the CPU fails every round.
        while (!(st = AppendN(log.get(), 3, prefix, "t", 0, kT0, &offsets)).ok()) {
          ASSERT_EQ(st.code(), Status::Code::kIOError) << st.ToString();
          ++failed;
        }
        std::lock_guard<std::mutex> lock(mu);
        for (int k = 0; k < 3; ++k) accepted[offsets[k]] = prefix + "-" + std::to_string(k);
      }
    });
  }
  for (auto& th : threads) th.join();
  stop = true;
  flipper.join();
  ASSERT_TRUE(log->Health().ok());
  EXPECT_GT(failed.load(), 0) << "no write failed: the test did not test renumbering";
  ASSERT_EQ(accepted.size(), size_t{kThreads * kRounds * 3});
  for (int pass = 0; pass < 2; ++pass) {
    auto recs = ReadAll(log.get());
    ASSERT_EQ(recs.size(), accepted.size()) << "pass " << pass;
    size_t i = 0;
    for (const auto& [offset, value] : accepted) {
      EXPECT_EQ(recs[i].offset, offset);
      EXPECT_EQ(offset, static_cast<Offset>(i)) << "offsets are dense";
      EXPECT_EQ(recs[i].value, value);
      ++i;
    }
    log.reset();
    RecoveryReport report;
    log = Open(&report);
    EXPECT_TRUE(report.Clean()) << report.ToString();
  }
}

TEST_F(FailureTest, FullBufferIsRefusedAtOnce) {
  options_.max_pending_bytes = 250;
  auto log = Open();
  auto gate = std::make_unique<SyncGate>(&env_);
  auto first = std::async(std::launch::async, [&] { return AppendN(log.get(), 10, "a"); });
  gate->WaitForASync();                     // ~110 bytes in flight
  Status st = AppendN(log.get(), 20, "b");  // ~200 more would pass 250
  EXPECT_EQ(st.code(), Status::Code::kUnavailable) << st.ToString();
  gate->Release();
  EXPECT_TRUE(first.get().ok());
  EXPECT_TRUE(AppendN(log.get(), 20, "b").ok());
  EXPECT_EQ(AppendN(log.get(), 100, "too-big").code(), Status::Code::kInvalidArgument);
}

}  // namespace
}  // namespace viewpipe
