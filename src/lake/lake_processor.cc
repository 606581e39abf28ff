#include "lake/lake_processor.h"

#include <spdlog/spdlog.h>

#include "event/codec.h"

namespace viewpipe {

LakeProcessor::LakeProcessor(Log* log, std::string topic, LakeWriterOptions writer_options,
                             int64_t idle_lag_ms)
    : log_(log), topic_(std::move(topic)), options_(std::move(writer_options)),
      idle_lag_ms_(idle_lag_ms) {
  if (options_.shared && options_.metrics != nullptr) {
    m_owned_ = options_.metrics->GetGauge("viewpipe_lake_partitions_owned",
                                          "Partitions of viewing this lake process writes");
  }
}

LakeProcessor::~LakeProcessor() = default;

void LakeProcessor::Close() {
  if (writer_) {
    Status st = writer_->Close();
    if (!st.ok()) spdlog::warn("lake: closing: {}", st.ToString());
  }
  writer_.reset();
}

Result<std::map<PartitionId, Offset>> LakeProcessor::Restore() {
  writer_.reset();  // releases the lock before reopening
  auto w = LakeWriter::Open(options_);
  if (!w.ok()) return w.status();
  writer_ = std::move(w).value();
  {
    std::lock_guard<std::mutex> lock(mu_);
    idle_error_ = Status::OK();
  }
  watermark_ms_ = writer_->watermark_ms();
  if (options_.shared) {
    // The runner calls Reassign with the first assignment next.
    owned_.clear();
    next_.clear();
    committed_.clear();
    watermarks_.clear();
    Snapshot();
    return std::map<PartitionId, Offset>{};
  }
  next_ = writer_->root().offsets;
  // Partitions the lake has never seen start at the log's first record.
  for (PartitionId p = 0; p < log_->Partitions(topic_); ++p) {
    if (!next_.count(p)) next_[p] = log_->StartOffset(topic_, p);
  }
  Snapshot();
  return next_;
}

Status LakeProcessor::Process(std::span<const ConsumedRecord> records) {
  VP_RETURN_IF_ERROR(idle_error());
  if (!writer_) return Status::Aborted("lake writer is not open");
  EventView e;
  DecodedIds ids;
  for (const ConsumedRecord& r : records) {
    next_[r.partition] = r.offset + 1;
    watermark_ms_ = std::max(watermark_ms_, r.timestamp_ms);
    if (options_.shared) {
      int64_t& wm = watermarks_[r.partition];
      wm = std::max(wm, r.timestamp_ms);
    }
    Status st = DecodeEvent(r.value, &e, &ids);
    if (!st.ok()) {
      // The collector only appends events it encoded; a bad record is a bug
      // or damage: skip it loudly rather than stop the lake.
      ++corrupt_;
      spdlog::error("lake: {}/{}@{}: {}", topic_, r.partition, r.offset, st.ToString());
      continue;
    }
    auto added = writer_->Add(e);
    if (!added.ok()) return added.status();
  }
  if (writer_->buffered_rows() >= options_.max_buffer_rows) {
    VP_RETURN_IF_ERROR(options_.shared ? FlushOwned() : writer_->Flush(&next_));
    Snapshot();
  }
  return Status::OK();
}

Status LakeProcessor::Checkpoint(const std::map<PartitionId, Offset>& next_offsets) {
  VP_RETURN_IF_ERROR(idle_error());
  if (!writer_) return Status::Aborted("lake writer is not open");
  if (options_.shared) {
    // A partition read to its end is caught up: its watermark follows the
    // clock even while the others keep the runner busy (Idle never runs),
    // so a partition without traffic does not hold the seal back.
    const int64_t now = options_.clock->NowMs();
    for (PartitionId p : owned_) {
      auto next = next_.find(p);
      if (next == next_.end() || next->second != log_->EndOffset(topic_, p)) continue;
      int64_t& wm = watermarks_[p];
      wm = std::max(wm, now - idle_lag_ms_);
    }
    VP_RETURN_IF_ERROR(FlushOwned());
    VP_RETURN_IF_ERROR(Maintain());
    Snapshot();
    return Status::OK();
  }
  std::map<PartitionId, Offset> offsets = next_;
  for (const auto& [p, o] : next_offsets) offsets[p] = std::max(offsets[p], o);
  VP_RETURN_IF_ERROR(writer_->Flush(&offsets));
  VP_RETURN_IF_ERROR(Maintain());
  Snapshot();
  return Status::OK();
}

Status LakeProcessor::Maintain() {
  last_maintain_us_ = options_.clock->MonotonicMicros();
  return writer_->Maintain(watermark_ms_);
}

void LakeProcessor::Idle() {
  if (!writer_ || !idle_error().ok()) return;
  watermark_ms_ = std::max(watermark_ms_, options_.clock->NowMs() - idle_lag_ms_);
  // Caught up: flush what waits (the runner checkpoints only after new
  // records) and run maintenance, at most once a second.
  if (options_.clock->MonotonicMicros() - last_maintain_us_ < 1000000) return;
  Status st;
  if (options_.shared) {
    // Every partition owned is caught up: its watermark follows the clock.
    // The root learns of it every 10 s (sealing waits for every
    // partition's), with nothing buffered (the checkpoint commits those).
    for (PartitionId p : owned_) {
      int64_t& wm = watermarks_[p];
      wm = std::max(wm, options_.clock->NowMs() - idle_lag_ms_);
    }
    if (writer_->buffered_rows() == 0 &&
        options_.clock->NowMs() - last_watermark_commit_ms_ >= 10000) {
      st = FlushOwned();
    }
  }
  if (st.ok()) st = Maintain();
  if (st.ok()) Snapshot();
  if (!st.ok()) {
    spdlog::error("lake maintenance: {}", st.ToString());
    std::lock_guard<std::mutex> lock(mu_);
    idle_error_ = st;
  }
}

Status LakeProcessor::FlushOwned() {
  SourcePosition pos;
  for (PartitionId p : owned_) {
    auto next = next_.find(p);
    if (next != next_.end() && next->second != committed_[p]) {
      pos.offsets[p] = next->second;
      pos.from[p] = committed_[p];
    }
    if (auto wm = watermarks_.find(p); wm != watermarks_.end()) pos.watermarks[p] = wm->second;
  }
  VP_RETURN_IF_ERROR(writer_->FlushShared(pos));
  for (const auto& [p, o] : pos.offsets) committed_[p] = o;
  last_watermark_commit_ms_ = options_.clock->NowMs();
  return Status::OK();
}

Result<std::map<PartitionId, Offset>> LakeProcessor::Reassign(
    const std::vector<PartitionId>& lost, const std::vector<PartitionId>& gained) {
  if (!options_.shared) return Processor::Reassign(lost, gained);
  if (!writer_) return Status::Aborted("lake writer is not open");
  // What was read of the lost partitions is still ours to commit (a commit
  // after their new owner's would be fenced off, never written twice).
  if (!lost.empty()) VP_RETURN_IF_ERROR(FlushOwned());
  for (PartitionId p : lost) {
    owned_.erase(p);
    next_.erase(p);
    committed_.erase(p);
    watermarks_.erase(p);
  }
  // Other writers' commits (the gained partitions' offsets, the event ids
  // their days now hold).
  VP_RETURN_IF_ERROR(writer_->Refresh());
  std::map<PartitionId, Offset> out;
  for (PartitionId p : gained) {
    auto it = writer_->root().offsets.find(p);
    Offset o = it != writer_->root().offsets.end() ? it->second : log_->StartOffset(topic_, p);
    owned_.insert(p);
    next_[p] = committed_[p] = out[p] = o;
    if (auto wm = writer_->root().watermarks.find(p); wm != writer_->root().watermarks.end()) {
      watermarks_[p] = wm->second;
    }
  }
  writer_->set_maintainer(owned_.count(0) > 0);
  if (m_owned_ != nullptr) m_owned_->Set(static_cast<double>(owned_.size()));
  spdlog::info("lake: partitions moved: lost {}, gained {}; now writing {} partition(s){}",
               lost.size(), gained.size(), owned_.size(),
               owned_.count(0) ? " and maintaining the lake" : "");
  Snapshot();
  return out;
}

Status LakeProcessor::idle_error() const {
  std::lock_guard<std::mutex> lock(mu_);
  return idle_error_;
}

void LakeProcessor::Snapshot() {
  std::lock_guard<std::mutex> lock(mu_);
  snapshot_.writer = writer_->stats();
  snapshot_.root = writer_->root();
  snapshot_.watermark_ms = watermark_ms_;
  snapshot_.corrupt_records = corrupt_;
}

LakeProcessorStats LakeProcessor::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return snapshot_;
}

}  // namespace viewpipe
