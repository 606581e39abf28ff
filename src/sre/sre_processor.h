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
// Restart: Checkpoint writes the whole state with the offsets it covers to
// data_dir/sre/checkpoint (ops/checkpoint_file.h framing: a section of
// partitions, then SreState's sections), before the runner commits them;
// Restore loads it and returns its offsets, so a restart (or kill -9)
// replays only the `qoe` records after the checkpoint. Without a usable
// checkpoint (none, damaged: kept as checkpoint.bad) the state is rebuilt
// from the start of every partition. The state is a function of the topic
// in log order, so both give the same windows; the AlertBook keeps what was
// already raised, so re-detected alerts keep their id and detected_at.
//
// Pipeline health: it also runs PipelineHealth (consumer lag, collector
// rejections) about once a second, busy or idle.

#include <map>
#include <string>

#include "common/clock.h"
#include "common/env.h"
#include "common/metrics.h"
#include "event/codec.h"
#include "log/log.h"
#include "sre/alert_book.h"
#include "sre/pipeline_health.h"
#include "sre/sre_state.h"
#include "stream/consumer_runner.h"

namespace viewpipe::sre {

class SreProcessor final : public Processor {
 public:
  // All pointers must outlive the processor; metrics may be null.
  // dir: where the checkpoint is kept (empty: none, a restart replays all).
  SreProcessor(Log* log, std::string topic, SreState* state, AlertBook* book, Clock* clock,
               MetricsRegistry* metrics, Env* env = nullptr, std::string dir = "");

  Result<std::map<PartitionId, Offset>> Restore() override;
  Status Process(std::span<const ConsumedRecord> records) override;
  Status Checkpoint(const std::map<PartitionId, Offset>& next_offsets) override;
  void Idle() override;

  std::string checkpoint_path() const;
  // Records of the topic the restored checkpoint covered (not replayed).
  uint64_t restored_records() const { return restored_records_; }

 private:
  static constexpr int64_t kNoTime = INT64_MIN;
  struct PartitionState {
    Offset next = 0;
    int64_t time = kNoTime;
  };
  int64_t PartitionWatermark(bool* caught_up) const;
  void SyncMetrics();
  Status LoadCheckpoint(std::map<PartitionId, Offset>* offsets);
  Status WriteCheckpoint();
  void RemoveStaleTemporaries();

  Log* log_;
  std::string topic_;
  SreState* state_;
  AlertBook* book_;
  Clock* clock_;
  Env* env_;
  std::string dir_;
  uint64_t restored_records_ = 0;
  // Since Restore, until the first time the path is caught up (logged).
  int64_t restored_at_us_ = 0;
  uint64_t events_at_restore_ = 0;
  bool caught_up_logged_ = false;
  std::map<PartitionId, PartitionState> partitions_;
  PipelineHealth health_;
  EventView event_;
  DecodedIds event_ids_;  // event_'s compact ids
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
  Gauge* restored_ = nullptr;
  Gauge* checkpoint_bytes_ = nullptr;
  Histogram* checkpoint_seconds_ = nullptr;
};

}  // namespace viewpipe::sre
