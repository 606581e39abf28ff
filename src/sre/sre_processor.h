#pragma once
// SreProcessor: the SRE path's Processor (stream/consumer_runner.h) over the
// `qoe` topic: decodes each record into SreState and moves the watermark.
//
// Watermark (as the ops path): each partition's time is the largest
// min(ts, received_at) it delivered; the watermark is the newest of them
// but no further than the slowest partition that still has unread records.
// While caught up and within live_window_ms of the wall clock it follows
// the wall clock minus idle_lag_ms, so windows close without traffic.
//
// Restart: the state is a function of the `qoe` topic, so Restore returns
// the start of every partition and the state is rebuilt by replaying it
// (docs/sre.md: the cost and the limit of this choice); the AlertBook keeps
// what was already raised, so replayed alerts keep their detected_at.
//
// Pipeline health: it also runs PipelineHealth (consumer lag, collector
// rejections) about once a second, busy or idle.

#include <map>
#include <string>

#include "common/clock.h"
#include "common/metrics.h"
#include "log/log.h"
#include "sre/alert_book.h"
#include "sre/pipeline_health.h"
#include "sre/sre_state.h"
#include "stream/consumer_runner.h"

namespace viewpipe::sre {

class SreProcessor final : public Processor {
 public:
  // All pointers must outlive the processor; metrics may be null.
  SreProcessor(Log* log, std::string topic, SreState* state, AlertBook* book, Clock* clock,
               MetricsRegistry* metrics);

  Result<std::map<PartitionId, Offset>> Restore() override;
  Status Process(std::span<const ConsumedRecord> records) override;
  void Idle() override;

 private:
  static constexpr int64_t kNoTime = INT64_MIN;
  struct PartitionState {
    Offset next = 0;
    int64_t time = kNoTime;
  };
  int64_t PartitionWatermark(bool* caught_up) const;
  void SyncMetrics();

  Log* log_;
  std::string topic_;
  SreState* state_;
  AlertBook* book_;
  Clock* clock_;
  std::map<PartitionId, PartitionState> partitions_;
  PipelineHealth health_;
  EventView event_;
  QoeSessionTracker::Stats synced_;

  Counter* events_ = nullptr;
  Counter* corrupt_ = nullptr;
  Counter* late_ = nullptr;
  Counter* absurd_startup_ = nullptr;
  Counter* absurd_rebuffer_ = nullptr;
  Counter* absurd_bitrate_ = nullptr;
  Gauge* watermark_ = nullptr;
  Gauge* closed_through_ = nullptr;
  Gauge* sessions_ = nullptr;
  Gauge* open_alerts_ = nullptr;
};

}  // namespace viewpipe::sre
