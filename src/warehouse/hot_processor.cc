#include "warehouse/hot_processor.h"

#include <spdlog/spdlog.h>

#include <vector>

#include "event/codec.h"

namespace viewpipe {

Result<std::map<PartitionId, Offset>> HotProcessor::Restore() {
  auto offsets = hot_->Offsets();
  if (!offsets.ok()) return offsets.status();
  next_ = std::move(offsets).value();
  pending_.clear();
  pending_next_.clear();
  for (PartitionId p = 0; p < log_->Partitions(topic_); ++p) {
    if (!next_.count(p)) next_[p] = log_->StartOffset(topic_, p);
  }
  idle_error_ = Status::OK();
  VP_RETURN_IF_ERROR(EvictIfWindowMoved());
  return next_;
}

Status HotProcessor::Process(std::span<const ConsumedRecord> records) {
  VP_RETURN_IF_ERROR(idle_error_);
  for (const ConsumedRecord& r : records) {
    pending_.push_back({r.partition, r.offset, std::string(r.value)});
    pending_next_[r.partition] = r.offset + 1;
  }
  if (pending_.size() >= kMaxPendingRecords) return LoadPending();
  return Status::OK();
}

Status HotProcessor::Checkpoint(const std::map<PartitionId, Offset>& /*next_offsets*/) {
  return LoadPending();
}

Status HotProcessor::LoadPending() {
  if (pending_next_.empty()) return Status::OK();
  std::vector<EventView> events;
  events.reserve(pending_.size());
  // The views' compact ids: one slot per record, never reallocated.
  std::vector<DecodedIds> ids(pending_.size());
  std::map<PartitionId, Offset> next = next_;
  for (const auto& [p, o] : pending_next_) next[p] = o;
  for (const PendingRecord& r : pending_) {
    EventView e;
    Status st = DecodeEvent(r.value, &e, &ids[events.size()]);
    if (!st.ok()) {
      spdlog::error("hot tier: {}/{}@{}: {}", topic_, r.partition, r.offset, st.ToString());
      continue;
    }
    events.push_back(std::move(e));
  }
  VP_RETURN_IF_ERROR(hot_->Append(events, next));
  next_ = std::move(next);
  pending_.clear();
  pending_next_.clear();
  return Status::OK();
}

Status HotProcessor::EvictIfWindowMoved() {
  EventDate window = hot_->WindowStart();
  if (window == evicted_before_) return Status::OK();
  VP_RETURN_IF_ERROR(hot_->Evict());
  evicted_before_ = window;
  return Status::OK();
}

void HotProcessor::Idle() {
  if (!idle_error_.ok()) return;
  // Caught up: load what is buffered now rather than at the next checkpoint.
  idle_error_ = LoadPending();
  if (idle_error_.ok()) idle_error_ = EvictIfWindowMoved();
  if (!idle_error_.ok()) spdlog::error("hot tier (idle load or eviction): {}", idle_error_.ToString());
}

}  // namespace viewpipe
