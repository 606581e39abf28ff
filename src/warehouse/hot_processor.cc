#include "warehouse/hot_processor.h"

#include <spdlog/spdlog.h>

#include <vector>

#include "event/codec.h"

namespace viewpipe {

Result<std::map<PartitionId, Offset>> HotProcessor::Restore() {
  auto offsets = hot_->Offsets();
  if (!offsets.ok()) return offsets.status();
  next_ = std::move(offsets).value();
  for (PartitionId p = 0; p < log_->Partitions(topic_); ++p) {
    if (!next_.count(p)) next_[p] = log_->StartOffset(topic_, p);
  }
  idle_error_ = Status::OK();
  VP_RETURN_IF_ERROR(EvictIfWindowMoved());
  return next_;
}

Status HotProcessor::Process(std::span<const ConsumedRecord> records) {
  VP_RETURN_IF_ERROR(idle_error_);
  std::vector<EventView> events;
  events.reserve(records.size());
  std::map<PartitionId, Offset> next = next_;
  for (const ConsumedRecord& r : records) {
    next[r.partition] = r.offset + 1;
    EventView e;
    Status st = DecodeEvent(r.value, &e);
    if (!st.ok()) {
      spdlog::error("hot tier: {}/{}@{}: {}", topic_, r.partition, r.offset, st.ToString());
      continue;
    }
    events.push_back(std::move(e));
  }
  VP_RETURN_IF_ERROR(hot_->Append(events, next));
  next_ = std::move(next);
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
  idle_error_ = EvictIfWindowMoved();
  if (!idle_error_.ok()) spdlog::error("hot tier eviction: {}", idle_error_.ToString());
}

}  // namespace viewpipe
