#pragma once
// Partition: the segments of one topic partition in "<dir>/<topic>/<p>/",
// the writer of its active (last) segment, and the offsets readers may read.
//
// Offsets, in the order VP_CHECK keeps them (durable <= written <= next):
//   next          next offset to hand out (GroupCommitter, under its mutex)
//   written_end   one past the last record written to the active file
//   durable_end   one past the last record fdatasync'd: EndOffset(), the only
//                 records readers ever see
// Every segment also has a durable_size in bytes, published before
// durable_end, so a reader never reads bytes that are not durable.
//
// Thread safety: the writer methods (Append, Sync, CutUnsynced) are called
// by one thread at a time, the group-commit leader. Readers, retention and
// the accessors may run on any thread at any time.

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/env.h"
#include "log/log.h"
#include "log/recovery_report.h"
#include "log/segment.h"

namespace viewpipe {

struct PartitionOptions {
  uint64_t segment_bytes = 128ull << 20;
  uint64_t index_interval_bytes = 4096;
  bool read_only = false;
  // > 0: after each fsync, the partition's durable bytes more than this far
  // behind its end are dropped from the page cache (WritableFile::
  // DropCache), in steps of kCacheDropStep: the active segment's, and the
  // rest of the segment closed before it once the active one holds this
  // much. 0: the kernel decides.
  uint64_t page_cache_bytes = 0;
};

class Partition {
 public:
  static constexpr uint64_t kCacheDropStep = 1 << 20;

  // env must outlive the partition. dir is the partition's own directory.
  Partition(Env* env, std::string topic, PartitionId id, std::string dir,
            const PartitionOptions& options);
  Partition(const Partition&) = delete;
  Partition& operator=(const Partition&) = delete;

  // Loads the segments. Closed segments are trusted when their index file
  // matches the .log (else the index is rebuilt from a full scan); the last
  // segment is always scanned batch by batch. A writer cuts a torn or
  // corrupt tail, fsyncs the cut and opens the last segment for appending;
  // a read-only partition changes nothing on disk. Fills *report.
  Status Open(PartitionRecovery* report);

  const std::string& topic() const { return topic_; }
  PartitionId id() const { return id_; }
  Offset StartOffset() const { return start_.load(std::memory_order_acquire); }
  Offset EndOffset() const { return durable_end_.load(std::memory_order_acquire); }
  uint64_t SizeBytes() const { return size_bytes_.load(std::memory_order_relaxed); }
  Env* env() const { return env_; }

  // Writer side: the group-commit leader only.
  Offset written_end() const { return written_end_; }
  // Appends sealed batches (each piece one or more whole batches, bytes in
  // all; one vectored write) whose records end at next_end, rolling to a new
  // segment first when the active one would pass segment_bytes. Not durable
  // (nor visible) until Sync. On error the file may hold part of the batches:
  // call CutUnsynced.
  Status Append(std::span<const std::string_view> batches, uint64_t bytes, Offset next_end,
                int64_t max_ts);
  // fdatasync of the active segment, then publishes all written records
  // and drops what page_cache_bytes says from the page cache.
  Status Sync();
  // Cuts the active segment back to its durable size (after a failed Append).
  Status CutUnsynced();

  // Reader side.
  struct Location {
    std::shared_ptr<Segment> segment;  // null when the partition is empty
    uint64_t position = 0;             // an indexed batch starting at or before the offset
  };
  // Where to start scanning for offset (the first segment when the offset is
  // before StartOffset).
  Location Locate(Offset offset) const;
  // The segment after s (null when s is the last one).
  std::shared_ptr<Segment> SegmentAfter(const Segment& s) const;
  // Why a closed segment's readable data ends early (empty when it doesn't).
  std::string SegmentProblem(const Segment& s) const;

  // Deletes closed segments, oldest first, while their max timestamp is
  // below min_timestamp or the partition holds more than max_bytes (< 0: no
  // bound). The active segment is never deleted. Returns segments deleted.
  Result<int> EnforceRetention(int64_t min_timestamp, int64_t max_bytes);

 private:
  Status LoadClosed(Segment* s, Offset next_base, PartitionRecovery* report);
  Status RecoverLast(const std::shared_ptr<Segment>& s, PartitionRecovery* report);
  Status CreateFirstSegment();
  Status Roll();
  void WriteIndexFile(const Segment& s);
  void IndexBatches(std::string_view batches, uint64_t file_pos);
  // Drops what is left of previous_file_'s cached bytes and closes it.
  void DropPreviousSegmentCache();

  Env* const env_;
  const std::string topic_;
  const PartitionId id_;
  const std::string dir_;
  const PartitionOptions options_;

  mutable std::mutex mu_;
  std::vector<std::shared_ptr<Segment>> segments_;  // ascending base; guarded by mu_
  std::atomic<Offset> start_{0};
  std::atomic<Offset> durable_end_{0};
  std::atomic<uint64_t> size_bytes_{0};

  // Writer state, owned by the group-commit leader.
  std::shared_ptr<Segment> active_;
  std::unique_ptr<WritableFile> active_file_;
  uint64_t active_size_ = 0;  // bytes written to the active file
  Offset written_end_ = 0;
  int64_t written_max_ts_ = INT64_MIN;
  uint64_t next_index_pos_ = 0;
  uint64_t cache_dropped_to_ = 0;  // bytes of the active file advised out of the page cache
  // The segment closed last, while part of it may still be cached (only
  // with page_cache_bytes): its writer, its size and what was dropped.
  std::unique_ptr<WritableFile> previous_file_;
  uint64_t previous_size_ = 0;
  uint64_t previous_dropped_to_ = 0;
};

}  // namespace viewpipe
