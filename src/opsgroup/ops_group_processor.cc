#include "opsgroup/ops_group_processor.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "event/codec.h"

namespace viewpipe::ops {
namespace {

constexpr size_t kEvictPerRecord = 2;
constexpr size_t kEvictPerIdle = 65536;

}  // namespace

OpsGroupProcessor::OpsGroupProcessor(Log* log, std::string topic, PartitionShards* shards,
                                     ShardCheckpoints* checkpoints, Clock* clock,
                                     MetricsRegistry* metrics, const OpsOptions& options)
    : log_(log),
      topic_(std::move(topic)),
      shards_(shards),
      checkpoints_(checkpoints),
      clock_(clock),
      options_(options) {
  if (metrics == nullptr) return;
  events_ = metrics->GetCounter("viewpipe_ops_events_total", "Events applied by the ops path");
  corrupt_ = metrics->GetCounter("viewpipe_ops_corrupt_records_total",
                                 "Records of the viewing topic the ops path could not decode");
  restored_ = metrics->GetCounter("viewpipe_ops_partition_handovers_total",
                                  "Partitions this ops process took over",
                                  {{"outcome", "checkpoint"}});
  rebuilt_ = metrics->GetCounter("viewpipe_ops_partition_handovers_total",
                                 "Partitions this ops process took over", {{"outcome", "rebuild"}});
  owned_ = metrics->GetGauge("viewpipe_ops_partitions_owned",
                             "Partitions of viewing this ops process counts");
  watermark_ = metrics->GetGauge("viewpipe_ops_watermark_ms", "The ops watermark (event time)");
  checkpoint_seconds_ = metrics->GetHistogram(
      "viewpipe_ops_checkpoint_seconds", "Time to write one ops checkpoint (all changed partitions)",
      {0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30});
}

Result<Shard> OpsGroupProcessor::Acquire(PartitionId p) {
  const Offset start = log_->StartOffset(topic_, p);
  auto loaded = checkpoints_->Load(p);
  if (loaded.ok() && loaded->next > log_->EndOffset(topic_, p)) {
    loaded = Status::Corruption("checkpoint at offset " + std::to_string(loaded->next) +
                                " is ahead of the log");
  }
  if (loaded.ok()) {
    if (loaded->next < start) {
      spdlog::warn("ops: partition {} lost records {}..{} to retention before they were counted",
                   p, loaded->next, start - 1);
      loaded->next = start;
    }
    spdlog::info("ops: partition {}: restored {} sessions at offset {} from {}", p,
                 loaded->tracker->sessions(), loaded->next, checkpoints_->where());
    if (restored_ != nullptr) restored_->Inc();
    return loaded;
  }
  if (!loaded.status().IsNotFound() && !loaded.status().IsCorruption()) return loaded.status();
  if (loaded.status().IsCorruption()) {
    spdlog::warn("ops: partition {}: checkpoint unusable ({}): rebuilding from the log", p,
                 loaded.status().ToString());
  } else {
    spdlog::info("ops: partition {}: no checkpoint: counting from the start of the log", p);
  }
  if (rebuilt_ != nullptr) rebuilt_->Inc();
  Shard s;
  s.tracker = std::make_unique<SessionTracker>(options_.tracker);
  s.next = start;
  dirty_.insert(p);
  return s;
}

Result<std::map<PartitionId, Offset>> OpsGroupProcessor::Reassign(
    const std::vector<PartitionId>& lost, const std::vector<PartitionId>& gained) {
  for (PartitionId p : lost) {
    auto it = shards_->owner_view().find(p);
    if (it == shards_->owner_view().end()) continue;
    if (dirty_.erase(p) > 0) {
      Status st = checkpoints_->Save(p, it->second);
      if (!st.ok()) spdlog::warn("ops: partition {}: checkpoint on hand-over: {}", p, st.ToString());
    }
    shards_->Write([p](PartitionShards::Map& m) { m.erase(p); });
    spdlog::info("ops: partition {} moved to another process", p);
  }
  std::map<PartitionId, Offset> offsets;
  for (PartitionId p : gained) {
    auto shard = Acquire(p);
    if (!shard.ok()) return shard.status();
    offsets[p] = shard->next;
    shards_->Write([&](PartitionShards::Map& m) { m[p] = std::move(shard).value(); });
  }
  SyncGauges();
  return offsets;
}

Status OpsGroupProcessor::Process(std::span<const ConsumedRecord> records) {
  uint64_t corrupt = 0, applied = 0;
  const std::map<PartitionId, Offset> ends = EndOffsets();
  shards_->Write([&](PartitionShards::Map& shards) {
    for (const ConsumedRecord& r : records) {
      auto it = shards.find(r.partition);
      if (it == shards.end() || r.offset < it->second.next) {
        ++duplicates_;  // fetched before a seek, or of a partition not ours
        continue;
      }
      Shard& s = it->second;
      s.next = r.offset + 1;
      dirty_.insert(r.partition);
      if (!DecodeEvent(r.value, &event_).ok()) {
        ++corrupt;
        continue;
      }
      s.tracker->Apply(event_);
      s.time = std::max(s.time, SessionTracker::WatermarkTime(event_));
      ++applied;
    }
    AfterBatch(shards, ends, records.size());
  });
  if (corrupt > 0) {
    spdlog::error("ops: {} records of {} could not be decoded; skipped", corrupt, topic_);
    if (corrupt_ != nullptr) corrupt_->Inc(corrupt);
  }
  if (events_ != nullptr) events_->Inc(applied);
  return Status::OK();
}

std::map<PartitionId, Offset> OpsGroupProcessor::EndOffsets() const {
  std::map<PartitionId, Offset> ends;
  for (const auto& [p, s] : shards_->owner_view()) ends[p] = log_->EndOffset(topic_, p);
  return ends;
}

int64_t OpsGroupProcessor::Watermark(PartitionShards::Map& shards,
                                     const std::map<PartitionId, Offset>& ends,
                                     bool* caught_up) const {
  int64_t newest = Shard::kNoTime;
  int64_t slowest_behind = INT64_MAX;
  bool held = false;
  *caught_up = true;
  for (auto& [p, s] : shards) {
    newest = std::max(newest, s.time);
    auto end = ends.find(p);
    s.caught_up = end == ends.end() || s.next >= end->second;
    if (s.caught_up) continue;
    *caught_up = false;
    if (s.time == Shard::kNoTime) held = true;  // unread records and no time: hold still
    slowest_behind = std::min(slowest_behind, s.time);
  }
  return held ? Shard::kNoTime : std::min(newest, slowest_behind);
}

void OpsGroupProcessor::AfterBatch(PartitionShards::Map& shards,
                                   const std::map<PartitionId, Offset>& ends, size_t records) {
  bool caught_up;
  const int64_t w = Watermark(shards, ends, &caught_up);
  const size_t budget = (records * kEvictPerRecord + 64) / std::max<size_t>(shards.size(), 1) + 1;
  for (auto& [p, s] : shards) {
    if (w != Shard::kNoTime) s.tracker->AdvanceWatermark(w);
    s.tracker->EvictIdle(budget);
  }
  if (watermark_ != nullptr && w != Shard::kNoTime) watermark_->Set(static_cast<double>(w));
}

void OpsGroupProcessor::Idle() {
  const int64_t now = clock_->NowMs();
  const int64_t target = now - options_.idle_lag_ms;
  const std::map<PartitionId, Offset> ends = EndOffsets();
  shards_->Write([&](PartitionShards::Map& shards) {
    bool caught_up;
    Watermark(shards, ends, &caught_up);
    int64_t newest = INT64_MIN;
    for (const auto& [p, s] : shards) {
      if (s.tracker->has_time()) newest = std::max(newest, s.tracker->watermark());
    }
    if (!caught_up || newest == INT64_MIN || newest < now - options_.live_window_ms) return;
    for (auto& [p, s] : shards) {
      s.tracker->AdvanceWatermark(target);
      s.tracker->EvictIdle(kEvictPerIdle);
    }
  });
}

Status OpsGroupProcessor::Checkpoint(const std::map<PartitionId, Offset>& /*next_offsets*/) {
  const int64_t t0 = clock_->MonotonicMicros();
  bool wrote = false;
  const PartitionShards::Map& shards = shards_->owner_view();
  while (!dirty_.empty()) {
    const PartitionId p = *dirty_.begin();
    auto it = shards.find(p);
    if (it != shards.end()) {
      VP_RETURN_IF_ERROR(checkpoints_->Save(p, it->second));
      wrote = true;
    }
    dirty_.erase(dirty_.begin());
  }
  if (wrote && checkpoint_seconds_ != nullptr) {
    checkpoint_seconds_->Observe(static_cast<double>(clock_->MonotonicMicros() - t0) / 1e6);
  }
  SyncGauges();
  return Status::OK();
}

void OpsGroupProcessor::SyncGauges() {
  if (owned_ != nullptr) owned_->Set(static_cast<double>(shards_->owner_view().size()));
}

}  // namespace viewpipe::ops
