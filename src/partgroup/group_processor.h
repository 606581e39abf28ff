#pragma once
// GroupProcessor<State>: the Processor of a path when several processes
// share a topic's partitions (the ops group: State = SessionTracker; the
// sre group: State = PartitionQoe; docs/scale.md). The state is one shard
// per owned partition (ShardMap); the runner hands partitions over as the
// Kafka group moves them:
//
//   gained p: load p's checkpoint from the shared store (ShardStore) and
//             read p from its offset (no checkpoint: from the start of the
//             log; a damaged one, or one ahead of the log, is rebuilt the
//             same way);
//   lost p:   store p's checkpoint (best effort: the next owner replays
//             from whichever checkpoint it finds) and drop p's state.
//
// A record below a shard's next offset (one fetched before a seek) is
// skipped, so no record is applied twice. Watermark: the largest partition
// time, no further than the slowest partition with unread records, given
// to every shard after each batch. Checkpoints are synchronous, one object
// per changed partition. What differs between groups is the subclass's:
// Idle() (how the watermark follows the wall clock) and AfterBatch().
//
// State needs Apply(const EventView&), AdvanceWatermark(int64_t) and
// sessions().
//
// Thread safety: called on the runner's thread only; shares the shards with
// other threads through ShardMap's lock.

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "common/clock.h"
#include "event/codec.h"
#include "event/event.h"
#include "log/log.h"
#include "ops/session_tracker.h"
#include "partgroup/group_metrics.h"
#include "partgroup/shard_map.h"
#include "partgroup/shard_store.h"
#include "stream/consumer_runner.h"

namespace viewpipe::partgroup {

template <typename State>
class GroupProcessor : public Processor {
 public:
  using Shard = PartitionShard<State>;
  using Map = typename ShardMap<Shard>::Map;
  static constexpr int64_t kNoTime = Shard::kNoTime;

  Result<std::map<PartitionId, Offset>> Restore() override {
    return std::map<PartitionId, Offset>{};
  }
  Status Process(std::span<const ConsumedRecord> records) override;
  Status Checkpoint(const std::map<PartitionId, Offset>& next_offsets) override;
  bool PerPartitionState() const override { return true; }
  Result<std::map<PartitionId, Offset>> Reassign(const std::vector<PartitionId>& lost,
                                                 const std::vector<PartitionId>& gained) override;

  uint64_t duplicates_skipped() const { return duplicates_; }

 protected:
  // All pointers must outlive the processor. name: the logs' prefix ("ops").
  GroupProcessor(Log* log, std::string topic, ShardMap<Shard>* shards, ShardStore<State>* store,
                 Clock* clock, std::string name, const GroupMetrics& metrics)
      : log_(log),
        topic_(std::move(topic)),
        shards_(shards),
        store_(store),
        clock_(clock),
        name_(std::move(name)),
        metrics_(metrics) {}

  // After a batch's watermark went to every shard (under the lock).
  virtual void AfterBatch(Map& /*shards*/, size_t /*records*/) {}

  // The end offset of each owned partition (asked before taking the lock:
  // on Kafka it is a broker round trip).
  std::map<PartitionId, Offset> EndOffsets() const;
  // The watermark the owned partitions vouch for (kNoTime: none); refreshes
  // each shard's caught_up.
  static int64_t Watermark(Map& shards, const std::map<PartitionId, Offset>& ends,
                           bool* caught_up);

  ShardMap<Shard>* shards() const { return shards_; }
  Clock* clock() const { return clock_; }
  const GroupMetrics& metrics() const { return metrics_; }

 private:
  // p's state: from its checkpoint, or empty at the start of the log.
  Result<Shard> Acquire(PartitionId p);
  Result<Shard> Rebuild(PartitionId p, const Status& why, Offset start);
  void Drop(PartitionId p);
  // Applies the records of the shards they belong to; returns how many.
  uint64_t Apply(Map& shards, std::span<const ConsumedRecord> records, uint64_t* corrupt);
  void SyncGauges();

  Log* log_;
  std::string topic_;
  ShardMap<Shard>* shards_;
  ShardStore<State>* store_;
  Clock* clock_;
  std::string name_;
  GroupMetrics metrics_;
  EventView event_;
  DecodedIds event_ids_;  // event_'s compact ids
  uint64_t duplicates_ = 0;
  std::set<PartitionId> dirty_;  // changed since their last checkpoint
};

template <typename State>
Result<typename GroupProcessor<State>::Shard> GroupProcessor<State>::Acquire(PartitionId p) {
  const Offset start = log_->StartOffset(topic_, p);
  auto loaded = store_->Load(p);
  if (loaded.ok() && loaded->next > log_->EndOffset(topic_, p)) {
    loaded = Status::Corruption("checkpoint at offset " + std::to_string(loaded->next) +
                                " is ahead of the log");
  }
  if (!loaded.ok()) return Rebuild(p, loaded.status(), start);
  if (loaded->next < start) {
    spdlog::warn("{}: partition {} lost records {}..{} to retention before they were counted",
                 name_, p, loaded->next, start - 1);
    loaded->next = start;
  }
  spdlog::info("{}: partition {}: restored {} sessions at offset {} from {}", name_, p,
               loaded->state->sessions(), loaded->next, store_->where());
  if (metrics_.restored != nullptr) metrics_.restored->Inc();
  return loaded;
}

template <typename State>
Result<typename GroupProcessor<State>::Shard> GroupProcessor<State>::Rebuild(PartitionId p,
                                                                             const Status& why,
                                                                             Offset start) {
  if (!why.IsNotFound() && !why.IsCorruption()) return why;
  if (why.IsCorruption()) {
    spdlog::warn("{}: partition {}: checkpoint unusable ({}): rebuilding from the log", name_, p,
                 why.ToString());
  } else {
    spdlog::info("{}: partition {}: no checkpoint: counting from the start of the log", name_, p);
  }
  if (metrics_.rebuilt != nullptr) metrics_.rebuilt->Inc();
  Shard s;
  s.state = store_->Fresh();
  s.next = start;
  dirty_.insert(p);
  return s;
}

template <typename State>
void GroupProcessor<State>::Drop(PartitionId p) {
  auto it = shards_->owner_view().find(p);
  if (it == shards_->owner_view().end()) return;
  if (dirty_.erase(p) > 0) {
    Status st = store_->Save(p, it->second);
    if (!st.ok()) {
      spdlog::warn("{}: partition {}: checkpoint on hand-over: {}", name_, p, st.ToString());
    }
  }
  shards_->Write([p](Map& m) { m.erase(p); });
  spdlog::info("{}: partition {} moved to another process", name_, p);
}

template <typename State>
Result<std::map<PartitionId, Offset>> GroupProcessor<State>::Reassign(
    const std::vector<PartitionId>& lost, const std::vector<PartitionId>& gained) {
  for (PartitionId p : lost) Drop(p);
  std::map<PartitionId, Offset> offsets;
  for (PartitionId p : gained) {
    auto shard = Acquire(p);
    if (!shard.ok()) return shard.status();
    offsets[p] = shard->next;
    shards_->Write([&](Map& m) { m[p] = std::move(shard).value(); });
  }
  SyncGauges();
  return offsets;
}

template <typename State>
uint64_t GroupProcessor<State>::Apply(Map& shards, std::span<const ConsumedRecord> records,
                                      uint64_t* corrupt) {
  uint64_t applied = 0;
  for (const ConsumedRecord& r : records) {
    auto it = shards.find(r.partition);
    if (it == shards.end() || r.offset < it->second.next) {
      ++duplicates_;  // fetched before a seek, or of a partition not ours
      continue;
    }
    Shard& s = it->second;
    s.next = r.offset + 1;
    dirty_.insert(r.partition);
    if (!DecodeEvent(r.value, &event_, &event_ids_).ok()) {
      ++*corrupt;
      continue;
    }
    s.state->Apply(event_);
    s.time = std::max(s.time, ops::SessionTracker::WatermarkTime(event_));
    ++applied;
  }
  return applied;
}

template <typename State>
Status GroupProcessor<State>::Process(std::span<const ConsumedRecord> records) {
  uint64_t corrupt = 0, applied = 0;
  const std::map<PartitionId, Offset> ends = EndOffsets();
  shards_->Write([&](Map& shards) {
    applied = Apply(shards, records, &corrupt);
    bool caught_up;
    const int64_t w = Watermark(shards, ends, &caught_up);
    if (w != kNoTime) {
      for (auto& [p, s] : shards) s.state->AdvanceWatermark(w);
      if (metrics_.watermark != nullptr) metrics_.watermark->Set(static_cast<double>(w));
    }
    AfterBatch(shards, records.size());
  });
  if (corrupt > 0) {
    spdlog::error("{}: {} records of {} could not be decoded; skipped", name_, corrupt, topic_);
    if (metrics_.corrupt != nullptr) metrics_.corrupt->Inc(corrupt);
  }
  if (metrics_.events != nullptr) metrics_.events->Inc(applied);
  return Status::OK();
}

template <typename State>
std::map<PartitionId, Offset> GroupProcessor<State>::EndOffsets() const {
  std::map<PartitionId, Offset> ends;
  for (const auto& [p, s] : shards_->owner_view()) ends[p] = log_->EndOffset(topic_, p);
  return ends;
}

template <typename State>
int64_t GroupProcessor<State>::Watermark(Map& shards, const std::map<PartitionId, Offset>& ends,
                                         bool* caught_up) {
  int64_t newest = kNoTime;
  int64_t slowest_behind = INT64_MAX;
  bool held = false;
  *caught_up = true;
  for (auto& [p, s] : shards) {
    newest = std::max(newest, s.time);
    auto end = ends.find(p);
    s.caught_up = end == ends.end() || s.next >= end->second;
    if (s.caught_up) continue;
    *caught_up = false;
    if (s.time == kNoTime) held = true;  // unread records and no time: hold still
    slowest_behind = std::min(slowest_behind, s.time);
  }
  return held ? kNoTime : std::min(newest, slowest_behind);
}

template <typename State>
Status GroupProcessor<State>::Checkpoint(const std::map<PartitionId, Offset>& /*next_offsets*/) {
  const int64_t t0 = clock_->MonotonicMicros();
  bool wrote = false;
  const Map& shards = shards_->owner_view();
  while (!dirty_.empty()) {
    const PartitionId p = *dirty_.begin();
    auto it = shards.find(p);
    if (it != shards.end()) {
      VP_RETURN_IF_ERROR(store_->Save(p, it->second));
      wrote = true;
    }
    dirty_.erase(dirty_.begin());
  }
  if (wrote && metrics_.checkpoint_seconds != nullptr) {
    metrics_.checkpoint_seconds->Observe(static_cast<double>(clock_->MonotonicMicros() - t0) /
                                         1e6);
  }
  SyncGauges();
  return Status::OK();
}

template <typename State>
void GroupProcessor<State>::SyncGauges() {
  if (metrics_.owned != nullptr) {
    metrics_.owned->Set(static_cast<double>(shards_->owner_view().size()));
  }
}

}  // namespace viewpipe::partgroup
