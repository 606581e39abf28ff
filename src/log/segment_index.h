#pragma once
// SegmentIndex: the sparse offset index of one segment.
//
// On-disk format of "<base offset, 20 digits>.index", little endian:
//   n entries of 8 bytes:  u32 relative_offset (batch base_offset - segment
//                          base), u32 position (file position of that batch)
//   trailer of 24 bytes:   u32 end_relative_offset (one past the segment's
//                          last record, relative), u32 log_size (bytes of the
//                          .log), i64 max_timestamp (largest record timestamp
//                          in the segment), u32 entry_count, u32 crc32c of
//                          everything before the crc
// Entries are strictly increasing in both fields, one per batch that starts
// at least index_interval_bytes after the previous entry.
//
// The file is written once, when a segment is closed (rolled). The active
// segment's index lives only in memory: recovery scans the active segment
// anyway. An index file is an optimisation: when it is missing or does not
// match its .log (crc, size, end offset) it is rebuilt from the .log.
//
// Not thread safe; Partition guards it.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace viewpipe {

class SegmentIndex {
 public:
  struct Entry {
    uint32_t relative_offset = 0;
    uint32_t position = 0;
  };
  // What the trailer of a closed segment's index records.
  struct Trailer {
    uint32_t end_relative_offset = 0;
    uint32_t log_size = 0;
    int64_t max_timestamp = 0;
  };

  // REQUIRES: both fields greater than those of the last entry.
  void Add(uint32_t relative_offset, uint32_t position);
  // The last entry at or before relative_offset ({0, 0} when none): the batch
  // at that position starts at or before the offset.
  Entry Floor(uint32_t relative_offset) const;
  // Drops the entries at or beyond position (after the log was cut there).
  void TruncateAt(uint64_t position);
  size_t size() const { return entries_.size(); }
  uint32_t last_position() const { return entries_.empty() ? 0 : entries_.back().position; }

  std::string Encode(const Trailer& trailer) const;
  // Parses an index file. Corruption when the crc or the order is wrong.
  static Status Decode(std::string_view data, SegmentIndex* index, Trailer* trailer);

 private:
  std::vector<Entry> entries_;
};

}  // namespace viewpipe
