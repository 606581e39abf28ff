#include "sregroup/sre_group_processor.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "event/codec.h"

namespace viewpipe::sre {
namespace {

int64_t WatermarkTime(const EventView& e) {
  return e.received_at_ms > 0 ? std::min(e.ts_ms, e.received_at_ms) : e.ts_ms;
}

}  // namespace

SreGroupProcessor::SreGroupProcessor(Log* log, std::string topic, SreShards* shards,
                                     SreShardCheckpoints* checkpoints, Clock* clock,
                                     MetricsRegistry* metrics, const SreOptions& options)
    : log_(log),
      topic_(std::move(topic)),
      shards_(shards),
      checkpoints_(checkpoints),
      clock_(clock),
      options_(options) {
  if (metrics == nullptr) return;
  events_ = metrics->GetCounter("viewpipe_sre_events_total", "Events applied by the SRE path");
  corrupt_ = metrics->GetCounter("viewpipe_sre_corrupt_records_total",
                                 "Records of the qoe topic the SRE path could not decode");
  const char* handover_help = "Partitions of qoe this SRE process took over";
  restored_ = metrics->GetCounter("viewpipe_sre_partition_handovers_total", handover_help,
                                  {{"outcome", "checkpoint"}});
  rebuilt_ = metrics->GetCounter("viewpipe_sre_partition_handovers_total", handover_help,
                                 {{"outcome", "rebuild"}});
  owned_ = metrics->GetGauge("viewpipe_sre_partitions_owned",
                             "Partitions of qoe this SRE process counts");
  watermark_ = metrics->GetGauge("viewpipe_sre_watermark_ms", "The SRE watermark (event time)");
  checkpoint_seconds_ = metrics->GetHistogram(
      "viewpipe_sre_checkpoint_seconds", "Time to write one SRE checkpoint",
      {0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5});
}

Result<SreShard> SreGroupProcessor::Acquire(PartitionId p) {
  const Offset start = log_->StartOffset(topic_, p);
  auto loaded = checkpoints_->Load(p);
  if (loaded.ok() && loaded->next > log_->EndOffset(topic_, p)) {
    loaded = Status::Corruption("checkpoint at offset " + std::to_string(loaded->next) +
                                " is ahead of the log");
  }
  if (loaded.ok()) {
    if (loaded->next < start) {
      spdlog::warn("sre: partition {} lost records {}..{} to retention before they were counted",
                   p, loaded->next, start - 1);
      loaded->next = start;
    }
    spdlog::info("sre: partition {}: restored {} sessions at offset {} from {}", p,
                 loaded->qoe->sessions(), loaded->next, checkpoints_->where());
    if (restored_ != nullptr) restored_->Inc();
    return loaded;
  }
  if (!loaded.status().IsNotFound() && !loaded.status().IsCorruption()) return loaded.status();
  if (loaded.status().IsCorruption()) {
    spdlog::warn("sre: partition {}: checkpoint unusable ({}): rebuilding from the log", p,
                 loaded.status().ToString());
  } else {
    spdlog::info("sre: partition {}: no checkpoint: counting from the start of the log", p);
  }
  if (rebuilt_ != nullptr) rebuilt_->Inc();
  SreShard s;
  s.qoe = checkpoints_->Fresh();
  s.next = start;
  dirty_.insert(p);
  return s;
}

Result<std::map<PartitionId, Offset>> SreGroupProcessor::Reassign(
    const std::vector<PartitionId>& lost, const std::vector<PartitionId>& gained) {
  for (PartitionId p : lost) {
    auto it = shards_->owner_view().find(p);
    if (it == shards_->owner_view().end()) continue;
    if (dirty_.erase(p) > 0) {
      Status st = checkpoints_->Save(p, it->second);
      if (!st.ok()) spdlog::warn("sre: partition {}: checkpoint on hand-over: {}", p, st.ToString());
    }
    shards_->Write([p](SreShards::Map& m) { m.erase(p); });
    spdlog::info("sre: partition {} moved to another process", p);
  }
  std::map<PartitionId, Offset> offsets;
  for (PartitionId p : gained) {
    auto shard = Acquire(p);
    if (!shard.ok()) return shard.status();
    offsets[p] = shard->next;
    shards_->Write([&](SreShards::Map& m) { m[p] = std::move(shard).value(); });
  }
  if (owned_ != nullptr) owned_->Set(static_cast<double>(shards_->owner_view().size()));
  return offsets;
}

Status SreGroupProcessor::Process(std::span<const ConsumedRecord> records) {
  uint64_t corrupt = 0, applied = 0;
  const std::map<PartitionId, Offset> ends = EndOffsets();
  shards_->Write([&](SreShards::Map& shards) {
    for (const ConsumedRecord& r : records) {
      auto it = shards.find(r.partition);
      if (it == shards.end() || r.offset < it->second.next) {
        ++duplicates_;  // fetched before a seek, or of a partition not ours
        continue;
      }
      SreShard& s = it->second;
      s.next = r.offset + 1;
      dirty_.insert(r.partition);
      if (!DecodeEvent(r.value, &event_).ok()) {
        ++corrupt;
        continue;
      }
      s.qoe->Apply(event_);
      s.time = std::max(s.time, WatermarkTime(event_));
      ++applied;
    }
    bool caught_up;
    const int64_t w = Watermark(shards, ends, &caught_up);
    if (w != SreShard::kNoTime) {
      for (auto& [p, s] : shards) s.qoe->AdvanceWatermark(w);
      if (watermark_ != nullptr) watermark_->Set(static_cast<double>(w));
    }
  });
  if (corrupt > 0) {
    spdlog::error("sre: {} records of {} could not be decoded; skipped", corrupt, topic_);
    if (corrupt_ != nullptr) corrupt_->Inc(corrupt);
  }
  if (events_ != nullptr) events_->Inc(applied);
  return Status::OK();
}

std::map<PartitionId, Offset> SreGroupProcessor::EndOffsets() const {
  std::map<PartitionId, Offset> ends;
  for (const auto& [p, s] : shards_->owner_view()) ends[p] = log_->EndOffset(topic_, p);
  return ends;
}

int64_t SreGroupProcessor::Watermark(SreShards::Map& shards,
                                     const std::map<PartitionId, Offset>& ends,
                                     bool* caught_up) const {
  int64_t newest = SreShard::kNoTime;
  int64_t slowest_behind = INT64_MAX;
  bool held = false;
  *caught_up = true;
  for (auto& [p, s] : shards) {
    newest = std::max(newest, s.time);
    auto end = ends.find(p);
    s.caught_up = end == ends.end() || s.next >= end->second;
    if (s.caught_up) continue;
    *caught_up = false;
    if (s.time == SreShard::kNoTime) held = true;  // unread records and no time: hold still
    slowest_behind = std::min(slowest_behind, s.time);
  }
  return held ? SreShard::kNoTime : std::min(newest, slowest_behind);
}

void SreGroupProcessor::Idle() {
  const int64_t now = clock_->NowMs();
  const std::map<PartitionId, Offset> ends = EndOffsets();
  shards_->Write([&](SreShards::Map& shards) {
    bool caught_up;
    const int64_t w = Watermark(shards, ends, &caught_up);
    if (!caught_up || w == SreShard::kNoTime || w < now - options_.live_window_ms) return;
    const int64_t target = std::max(w, now - options_.idle_lag_ms);
    for (auto& [p, s] : shards) s.qoe->AdvanceWatermark(target);
    if (watermark_ != nullptr) watermark_->Set(static_cast<double>(target));
  });
}

Status SreGroupProcessor::Checkpoint(const std::map<PartitionId, Offset>& /*next_offsets*/) {
  const int64_t t0 = clock_->MonotonicMicros();
  bool wrote = false;
  const SreShards::Map& shards = shards_->owner_view();
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
  if (owned_ != nullptr) owned_->Set(static_cast<double>(shards.size()));
  return Status::OK();
}

}  // namespace viewpipe::sre
