#pragma once
// Segment: one file of a partition, "<base offset, 20 digits>.log" (record
// batches, see record_batch.h), with its sparse index "<base>.index" (see
// segment_index.h). Only the last segment of a partition is appended to;
// the others are closed and immutable until retention deletes them.
//
// Thread safety: base and paths are immutable; durable_size is atomic (the
// group-commit leader publishes, readers load); the other members are
// guarded by the owning Partition's mutex.

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/env.h"
#include "log/log.h"
#include "log/segment_index.h"

namespace viewpipe {

class Segment {
 public:
  // What a sequential scan of a segment file found.
  struct ScanResult {
    uint64_t file_size = 0;
    uint64_t valid_size = 0;  // bytes up to the first invalid batch
    Offset end_offset = 0;    // one past the last valid record
    int64_t max_ts = INT64_MIN;
    uint64_t records = 0;
    SegmentIndex index;
    std::string problem;  // why the scan stopped before file_size; empty otherwise
    // A valid batch follows the invalid one: the damage is not a torn tail
    // but corruption in the middle (records after it would be lost by a cut).
    bool valid_after_problem = false;
  };

  Segment(const std::string& dir, Offset base);

  Offset base() const { return base_; }
  const std::string& log_path() const { return log_path_; }
  const std::string& index_path() const { return index_path_; }

  // Bytes from the start that hold complete, durable batches. Readers never
  // read beyond it.
  uint64_t durable_size() const { return durable_size_.load(std::memory_order_acquire); }
  void set_durable_size(uint64_t size) { durable_size_.store(size, std::memory_order_release); }

  // "<base, 20 digits><ext>", e.g. FileName(42, ".log").
  static std::string FileName(Offset base, std::string_view ext);
  // Parses "<20 digits>.log"; false for any other name.
  static bool ParseLogFileName(std::string_view name, Offset* base);

  // Reads the segment at path from the start, checking every batch (crc,
  // dense offsets from base, record structure), and builds its index.
  static Result<ScanResult> Scan(Env* env, const std::string& path, Offset base,
                                 uint64_t index_interval);

  // Guarded by Partition::mu_.
  SegmentIndex index;
  Offset end_offset = 0;  // one past the last durable record
  int64_t max_ts = INT64_MIN;
  bool closed = false;
  // Closed segments: why readable data ends before the next segment starts
  // (found when the index was rebuilt); readers report it as Corruption.
  std::string problem;

 private:
  const Offset base_;
  const std::string log_path_;
  const std::string index_path_;
  std::atomic<uint64_t> durable_size_{0};
};

}  // namespace viewpipe
