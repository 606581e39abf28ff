#pragma once
// PipelineHealth: the "no blind spots" alerts that are not about QoE data,
// in the same AlertBook (kind tells them apart). Checked once a second of
// wall time from the SRE consumer thread (Check); times are wall time.
//
// - "consumer_lag": a consumer group's records behind the end of a topic
//   (Log::Lags, every group and topic) above max_lag_records; resolved
//   below half of it.
// - "rejections": the collector's rejected events
//   (viewpipe_events_total{outcome="rejected"}) over the last
//   rejection_window_ms exceed rejection_ratio of all posted events, with
//   at least min_rejections of them; resolved when back under half.
//
// Not thread safe (one caller).

#include <cstdint>
#include <deque>
#include <map>
#include <string>

#include "common/clock.h"
#include "common/metrics.h"
#include "log/log.h"
#include "sre/alert_book.h"

namespace viewpipe::sre {

struct HealthOptions {
  int64_t max_lag_records = 100000;
  int64_t rejection_window_ms = 60000;
  double rejection_ratio = 0.05;
  uint64_t min_rejections = 50;
};

class PipelineHealth {
 public:
  // All pointers must outlive this; metrics may be null (no rejection check).
  PipelineHealth(const HealthOptions& options, Log* log, MetricsRegistry* metrics,
                 AlertBook* book, Clock* clock);
  // Runs the checks if a second has passed since the last run.
  void Check();

 private:
  void CheckLag(int64_t now);
  void CheckRejections(int64_t now);
  void Open(const std::string& kind, const std::string& dimension, const std::string& key,
            const std::string& metric, double value, double threshold, int64_t now);

  HealthOptions options_;
  Log* log_;
  AlertBook* book_;
  Clock* clock_;
  Counter* accepted_ = nullptr;
  Counter* duplicates_ = nullptr;
  Counter* rejected_ = nullptr;
  int64_t last_check_ms_ = 0;
  std::map<std::string, std::string> open_;  // kind/key -> open alert id
  struct Sample {
    int64_t at;
    uint64_t posted, rejected;
  };
  std::deque<Sample> samples_;
};

}  // namespace viewpipe::sre
