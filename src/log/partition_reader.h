#pragma once
// PartitionReader: the FileLog's RecordReader (log.h). Reads the durable
// records of one partition in offset order, from any position. Consumers use
// one per partition; tools (dump, dedup rebuild, repair) get one from
// Log::NewReader or FileLog::NewPartitionReader.
//
// A reader never returns a record at or past the partition's EndOffset, and
// never one from an invalid batch: at a corrupt batch (or a gap between
// segments) Read returns Corruption, naming the partition and position, and
// keeps returning it until Seek. When retention deleted the records at the
// position, the reader jumps to StartOffset and counts what it skipped.
//
// Thread safety: one thread at a time. The Partition must outlive the reader.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/metrics.h"
#include "log/log.h"
#include "log/partition.h"

namespace viewpipe {

class PartitionReader final : public RecordReader {
 public:
  // skipped (may be null) counts records jumped over because of retention.
  PartitionReader(const Partition* partition, Offset from, Counter* skipped = nullptr);

  // Appends up to max records from the position to *out and advances past
  // them. Returns how many were appended (0: nothing durable past the
  // position). The key/value views stay valid until the next Read or Seek.
  Result<size_t> Read(size_t max, std::vector<ConsumedRecord>* out) override;
  // Moves to offset (clamped to [StartOffset, EndOffset]) and clears an error.
  void Seek(Offset offset);

  Offset position() const { return position_; }
  PartitionId partition() const { return partition_->id(); }
  // Records jumped over because retention deleted them before they were read.
  uint64_t skipped_by_retention() const { return skipped_; }

 private:
  // Jumps over records retention deleted, counting them.
  void SkipToStart();
  Status EnsureCursor();
  Status NextSegment();
  // Checks the batch at the start of `batch` (the cursor) and decodes its
  // records from the position on, at most max, counting them in *added.
  // Returns the bytes consumed: 0 when the batch continues past the chunk
  // (and is not the first) or max was reached inside it.
  Result<size_t> ConsumeBatch(std::string_view batch, bool first, size_t max,
                              std::vector<ConsumedRecord>* out, size_t* added);
  // Reads the bytes of whole batches from the cursor into buffer_.
  Result<std::string_view> Fill();
  Status Corrupt(const std::string& why);

  const Partition* partition_;
  Counter* skipped_metric_;
  Offset position_;
  uint64_t skipped_ = 0;
  Status error_;

  // Cursor: a batch boundary at or before position_ in segment_.
  std::shared_ptr<Segment> segment_;
  std::unique_ptr<RandomAccessFile> file_;
  uint64_t file_pos_ = 0;
  Offset expected_base_ = -1;  // base offset of the batch at file_pos_ (-1: unknown)
  std::string buffer_;
};

}  // namespace viewpipe
