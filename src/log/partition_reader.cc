#include "log/partition_reader.h"

#include <algorithm>

#include "log/record_batch.h"

namespace viewpipe {
namespace {
constexpr uint64_t kReadChunk = 256 << 10;
}  // namespace

PartitionReader::PartitionReader(const Partition* partition, Offset from, Counter* skipped)
    : partition_(partition), skipped_metric_(skipped), position_(from) {}

void PartitionReader::Seek(Offset offset) {
  position_ = std::clamp(offset, partition_->StartOffset(), partition_->EndOffset());
  segment_.reset();
  file_.reset();
  error_ = Status::OK();
}

void PartitionReader::SkipToStart() {
  Offset start = partition_->StartOffset();
  if (position_ >= start) return;
  uint64_t n = static_cast<uint64_t>(start - position_);
  skipped_ += n;
  if (skipped_metric_ != nullptr) skipped_metric_->Inc(n);
  position_ = start;
  segment_.reset();
}

Status PartitionReader::Corrupt(const std::string& why) {
  std::string where = segment_ ? segment_->log_path() + " position " + std::to_string(file_pos_)
                               : std::string("no segment");
  error_ =
      Status::Corruption(partition_->topic() + "/" + std::to_string(partition_->id()) +
                         " at offset " + std::to_string(position_) + " (" + where + "): " + why);
  return error_;
}

Result<size_t> PartitionReader::Read(size_t max, std::vector<ConsumedRecord>* out) {
  if (!error_.ok()) return error_;
  SkipToStart();
  Offset end = partition_->EndOffset();
  if (max == 0 || position_ >= end) return size_t{0};
  VP_RETURN_IF_ERROR(EnsureCursor());
  if (position_ >= end) return size_t{0};
  auto data = Fill();
  if (!data.ok()) return data.status();
  size_t added = 0;
  size_t at = 0;
  while (at < data->size() && added < max && position_ < end) {
    auto consumed = ConsumeBatch(data->substr(at), at == 0, max - added, out, &added);
    if (!consumed.ok()) {
      if (added > 0) return added;  // the error comes with the next Read
      return consumed.status();
    }
    if (*consumed == 0) break;
    at += *consumed;
  }
  return added;
}

Result<size_t> PartitionReader::ConsumeBatch(std::string_view batch, bool first, size_t max,
                                             std::vector<ConsumedRecord>* out, size_t* added) {
  BatchHeader h;
  std::string why;
  BatchCheck c = CheckBatch(batch, &h, &why);
  // Fill() reads the first batch whole; a later one may go on past the chunk.
  if (c == BatchCheck::kTruncated && !first) return size_t{0};
  if (c == BatchCheck::kOk && expected_base_ >= 0 && h.base_offset != expected_base_) {
    why = "base offset " + std::to_string(h.base_offset) + ", expected " +
          std::to_string(expected_base_);
    c = BatchCheck::kCorrupt;
  }
  if (c != BatchCheck::kOk) return Corrupt(why);
  if (h.NextOffset() > position_) {
    size_t before = out->size();
    auto n = DecodeBatch(batch, h, position_, max, out);
    if (!n.ok()) return Corrupt(n.status().message());
    for (size_t i = before; i < out->size(); ++i) (*out)[i].partition = partition_->id();
    *added += *n;
    if (*n > 0) position_ = out->back().offset + 1;
    if (position_ < h.NextOffset()) return size_t{0};  // max reached inside the batch
  }
  file_pos_ += h.TotalSize();
  expected_base_ = h.NextOffset();
  return static_cast<size_t>(h.TotalSize());
}

Status PartitionReader::EnsureCursor() {
  for (int attempt = 0; !segment_; ++attempt) {
    Partition::Location loc = partition_->Locate(position_);
    if (!loc.segment) return Corrupt("partition has no segment");
    auto file = partition_->env()->NewRandomAccessFile(loc.segment->log_path());
    if (file.status().IsNotFound() && attempt < 3) {
      // Deleted by retention since Locate: the next Locate sees the new start.
      SkipToStart();
      continue;
    }
    if (!file.ok()) return file.status();
    segment_ = std::move(loc.segment);
    file_ = std::move(file).value();
    file_pos_ = loc.position;
    expected_base_ = loc.position == 0 ? segment_->base() : -1;
  }
  while (file_pos_ >= segment_->durable_size()) VP_RETURN_IF_ERROR(NextSegment());
  return Status::OK();
}

Status PartitionReader::NextSegment() {
  std::shared_ptr<Segment> next = partition_->SegmentAfter(*segment_);
  if (!next) return Corrupt("durable end offset is past the last segment's data");
  std::string problem = partition_->SegmentProblem(*segment_);
  if (!problem.empty()) return Corrupt(problem);
  Offset reached = expected_base_ >= 0 ? expected_base_ : segment_->base();
  if (reached != next->base()) {
    return Corrupt("segment ends at offset " + std::to_string(reached) +
                   " but the next starts at " + std::to_string(next->base()));
  }
  auto file = partition_->env()->NewRandomAccessFile(next->log_path());
  if (!file.ok()) return file.status();
  segment_ = std::move(next);
  file_ = std::move(file).value();
  file_pos_ = 0;
  expected_base_ = segment_->base();
  return Status::OK();
}

Result<std::string_view> PartitionReader::Fill() {
  uint64_t limit = segment_->durable_size();
  uint64_t n = std::min(kReadChunk, limit - file_pos_);
  VP_RETURN_IF_ERROR(file_->Read(file_pos_, n, &buffer_));
  if (buffer_.size() < n) return Corrupt("file is shorter than its durable size");
  BatchHeader h;
  std::string why;
  if (ParseBatchHeader(buffer_, &h, &why) != BatchCheck::kOk) return Corrupt(why);
  if (h.TotalSize() > buffer_.size()) {
    if (h.TotalSize() > limit - file_pos_) return Corrupt("batch crosses the durable end");
    VP_RETURN_IF_ERROR(file_->Read(file_pos_, h.TotalSize(), &buffer_));
    if (buffer_.size() < h.TotalSize()) return Corrupt("file is shorter than its durable size");
  }
  return std::string_view(buffer_);
}

}  // namespace viewpipe
