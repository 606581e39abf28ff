#pragma once
// RecoveryReport: what FileLog::Open found and repaired, per partition.

#include <cstdint>
#include <string>
#include <vector>

#include "log/log.h"

namespace viewpipe {

struct PartitionRecovery {
  std::string topic;
  PartitionId partition = 0;
  int segments = 0;
  Offset start_offset = 0;
  Offset end_offset = 0;         // one past the last record kept
  uint64_t records_scanned = 0;  // records checked in the last (active) segment
  uint64_t bytes_truncated = 0;  // cut from the tail of the last segment
  bool index_rebuilt = false;    // a closed segment's index was missing or stale
  // What was wrong: a torn or corrupt tail (and what was cut), a corrupt
  // closed segment, a gap between segments. Empty when all was sound.
  std::string problem;
};

struct RecoveryReport {
  std::vector<PartitionRecovery> partitions;

  // True when nothing was cut and no problem was found.
  bool Clean() const;
  uint64_t BytesTruncated() const;
  // One line per partition that had something to report.
  std::string ToString() const;
};

}  // namespace viewpipe
