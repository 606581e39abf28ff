#pragma once
// ConcurrencyTruth: the true number of concurrent viewers per second, from
// the session events the simulator generated, by the definition of
// events.md: at t = s*1000+999 (the end of second s) a session counts if it
// has an attempt or play_start at or before t, its last event at or before t
// is not a stop or fatal error, and t - last_ts <= 30000.
//
// Incremental: each non-terminal event of a session opens a contribution
// over the seconds [floor(ts/1000), floor((ts+30001)/1000)) that the
// session's next event cuts short at floor(next_ts/1000). Contributions are
// +1/-1 deltas in a ring of seconds, so an event costs O(dimensions) and a
// second O(keys). Events must arrive in non-decreasing ts order, at or after
// the last finished second. Not thread safe.
//
// Each finished second is one NDJSON line (docs/simulator.md):
//   {"at":S,"t":S+999,"total":n,"title_id":{"t00001":n,...},"country":{...},
//    "device_type":{...},"cdn":{...},"live_event_id":{...}}
// with S = s*1000; groups with zero viewers are omitted, keys in index order.

#include <array>
#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "event/event.h"

namespace viewpipe::sim {

enum TruthDim : uint8_t { kDimTitle, kDimCountry, kDimDevice, kDimCdn, kDimLiveEvent, kDimCount };
inline constexpr std::array<std::string_view, kDimCount> kTruthDimNames = {
    "title_id", "country", "device_type", "cdn", "live_event_id"};

// The group key of a session in each dimension (an index into that
// dimension's names). For live_event_id, key 0 means "not live" and is never
// reported.
using TruthKeys = std::array<uint32_t, kDimCount>;

// What the truth remembers of one session; owned by the caller.
struct TruthSessionState {
  static constexpr int64_t kNone = std::numeric_limits<int64_t>::min();
  int64_t open_end_sec = kNone;  // exclusive end second of the open contribution
  bool started = false;          // has had an attempt or play_start
};

class ConcurrencyTruth {
 public:
  using LineSink = std::function<void(std::string_view line)>;
  // names[d][k]: the name of key k in dimension d. Seconds before
  // first_second are neither counted nor written.
  ConcurrencyTruth(std::array<std::vector<std::string>, kDimCount> names, int64_t first_second,
                   LineSink sink);

  void OnEvent(TruthSessionState* session, const TruthKeys& keys, int64_t ts, EventType type,
               bool fatal);
  // Writes every second s < second (all events with ts < second*1000 given).
  void FinishBefore(int64_t second);
  int64_t next_second() const { return next_second_; }
  // The counts of the last written second (tests): total and per key.
  int64_t last_total() const { return counts_.empty() ? 0 : counts_[0]; }
  int64_t LastCount(TruthDim dim, uint32_t key) const { return counts_[offset_[dim] + key]; }

 private:
  static constexpr int64_t kRing = 64;  // seconds; > 31 ahead of the newest event
  void Add(int64_t second, const TruthKeys& keys, int32_t delta);
  void WriteLine(int64_t second);

  std::array<std::vector<std::string>, kDimCount> names_;
  std::array<uint32_t, kDimCount> offset_;  // into counts_ / ring rows; slot 0 is the total
  size_t width_ = 1;
  std::vector<int32_t> ring_;    // kRing rows of width_ deltas
  std::vector<int64_t> counts_;  // running counts of the last finished second
  int64_t next_second_;
  LineSink sink_;
  std::string line_;
};

}  // namespace viewpipe::sim
