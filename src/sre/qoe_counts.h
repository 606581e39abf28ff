#pragma once
// QoeCounts: the additive quality numbers of one group over one stretch of
// event time (a 10 s window, or a merge of them). Everything in it is a sum
// or a histogram, so windows roll up to 1 min, 5 min or any range by
// Merge() and the rates are computed only when read (QoeMetrics).
//
// Startup times (VST) go into an exact histogram of fixed buckets (10 ms
// wide below 2 s, 50 ms to 10 s, 250 ms to 60 s); a percentile is the
// middle of the bucket that holds the nearest-rank sample, so it is within
// half a bucket of the exact value. Buckets merge exactly.

#include <cstdint>
#include <map>
#include <string>

namespace viewpipe::sre {

class StartupHistogram {
 public:
  // The largest startup time kept (values above are excluded by the caller).
  static constexpr int32_t kMaxMs = 60000;
  void Add(int32_t ms);
  void Merge(const StartupHistogram& other);
  // Adds n samples to bucket b (a restored checkpoint).
  void AddBucket(uint16_t b, uint32_t n);
  uint64_t count() const { return count_; }
  // Nearest-rank quantile (q in (0,1]) as the middle of its bucket; -1 when empty.
  int64_t Quantile(double q) const;
  bool operator==(const StartupHistogram& o) const = default;
  const std::map<uint16_t, uint32_t>& buckets() const { return buckets_; }

  static uint16_t BucketOf(int32_t ms);
  static int64_t BucketLow(uint16_t b);
  static int64_t BucketWidth(uint16_t b);

 private:
  std::map<uint16_t, uint32_t> buckets_;
  uint64_t count_ = 0;
};

struct QoeCounts {
  uint64_t attempts = 0;           // `attempt` events
  uint64_t plays = 0;              // `play_start` events (first per session)
  uint64_t vsf = 0;                // fatal error before play_start
  uint64_t ebvs = 0;               // stop or timeout before play_start, no fatal error
  uint64_t playback_failures = 0;  // fatal error after play_start
  uint64_t ended_plays = 0;        // started sessions that ended (stop, fatal, timeout)
  uint64_t rebuffers = 0;          // `rebuffer_end` events
  uint64_t stall_starts = 0;       // `rebuffer_start` events (while playing)
  int64_t stalled_ms = 0;          // rebuffer_ms, spread over the stall's span
  // The longest single stall (rebuffer_ms) that ended in it: a max, not a
  // sum (the detector's leave-one-out test; not served by the API).
  int64_t longest_stall_ms = 0;
  int64_t playing_ms = 0;          // time in the playing state
  uint64_t bitrate_samples = 0;    // heartbeats with bitrate_kbps
  int64_t bitrate_sum_kbps = 0;
  StartupHistogram vst;

  void Merge(const QoeCounts& o);
  bool Empty() const;
  bool operator==(const QoeCounts& o) const = default;
};

// The rates of events.md over one QoeCounts. A rate with a zero
// denominator is NaN (JSON null).
struct QoeMetrics {
  uint64_t attempts = 0;
  double vsf_rate = 0;               // vsf / attempts
  double ebvs_rate = 0;              // ebvs / attempts
  int64_t vst_p50_ms = -1;           // -1: no play_start
  int64_t vst_p95_ms = -1;
  double rebuffer_ratio = 0;         // stalled / (stalled + playing)
  double playback_failure_rate = 0;  // playback_failures / ended_plays
  double avg_bitrate_kbps = 0;       // bitrate_sum / bitrate_samples
};

QoeMetrics ComputeMetrics(const QoeCounts& c);

// Appends the api.md fields ("attempts":...,"avg_bitrate_kbps":...) without
// braces, plus the raw counts the rates come from.
void AppendMetricsJson(const QoeCounts& c, std::string* out);

}  // namespace viewpipe::sre
