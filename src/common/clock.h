#pragma once
// Clock: wall time and monotonic time behind one seam, so time-dependent
// logic (windows, timeouts, dedup expiry, alerts) is deterministic in tests.
// Thread safe.

#include <atomic>
#include <cstdint>

namespace viewpipe {

class Clock {
 public:
  virtual ~Clock() = default;
  // Milliseconds since the Unix epoch (UTC), wall time.
  virtual int64_t NowMs() const = 0;
  // Microseconds from an arbitrary origin; never goes backwards.
  virtual int64_t MonotonicMicros() const = 0;
  // The process-wide real clock. Never deleted.
  static Clock* System();
};

// A clock that only moves when told to.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t now_ms) : now_ms_(now_ms) {}
  int64_t NowMs() const override { return now_ms_.load(); }
  int64_t MonotonicMicros() const override { return now_ms_.load() * 1000; }
  void Set(int64_t now_ms) { now_ms_.store(now_ms); }
  void Advance(int64_t delta_ms) { now_ms_.fetch_add(delta_ms); }

 private:
  std::atomic<int64_t> now_ms_;
};

}  // namespace viewpipe
