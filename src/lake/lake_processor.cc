#include "lake/lake_processor.h"

#include <spdlog/spdlog.h>

#include "event/codec.h"

namespace viewpipe {

LakeProcessor::LakeProcessor(Log* log, std::string topic, LakeWriterOptions writer_options,
                             int64_t idle_lag_ms)
    : log_(log), topic_(std::move(topic)), options_(std::move(writer_options)),
      idle_lag_ms_(idle_lag_ms) {}

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
  for (const ConsumedRecord& r : records) {
    next_[r.partition] = r.offset + 1;
    watermark_ms_ = std::max(watermark_ms_, r.timestamp_ms);
    Status st = DecodeEvent(r.value, &e);
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
    VP_RETURN_IF_ERROR(writer_->Flush(&next_));
    Snapshot();
  }
  return Status::OK();
}

Status LakeProcessor::Checkpoint(const std::map<PartitionId, Offset>& next_offsets) {
  VP_RETURN_IF_ERROR(idle_error());
  if (!writer_) return Status::Aborted("lake writer is not open");
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
  Status st = Maintain();
  if (st.ok()) Snapshot();
  if (!st.ok()) {
    spdlog::error("lake maintenance: {}", st.ToString());
    std::lock_guard<std::mutex> lock(mu_);
    idle_error_ = st;
  }
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
