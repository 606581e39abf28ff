#pragma once
// The partial counts of the ops path run as a group of processes
// (docs/scale.md, "The ops path as several processes"): each process owns
// the sessions of some partitions of `viewing` (a session is keyed by its
// session_id, so all its events are in one partition) and keeps one
// SessionTracker per partition. Viewers at a second are then the sum over
// partitions of each partition's viewers at that second, exactly, as long
// as every partition is counted once and at a second its tracker has
// completed.
//
// A PartitionReport is what a process says about one partition it owns
// (GET /v1/ops/partials, ops_group_routes.h). This file holds the pure
// logic of the read side: pick one report per partition, find what is
// missing, choose the second, and add the counts up.

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "log/log.h"
#include "ops/dimension.h"

namespace viewpipe::ops {

// (value, viewers) pairs.
using GroupCounts = std::vector<std::pair<std::string, int64_t>>;

struct PartitionReport {
  PartitionId partition = 0;
  Offset next = 0;         // the state covers the partition's records before it
  bool has_time = false;   // the partition has delivered an event
  bool caught_up = false;  // nothing unread in the partition when it reported
  int64_t watermark = 0;   // ms; the rest in seconds, when has_time
  int64_t as_of = 0;       // newest complete second
  int64_t kept_begin = 0;  // oldest second kept
  // Counts at `second`, when asked and the second is within its range.
  bool has_counts = false;
  int64_t second = 0;
  int64_t total = 0;
  std::array<GroupCounts, kDimensionCount> groups;  // the dimensions asked
  // A series (points (second, viewers)), when asked.
  std::vector<std::pair<int64_t, int64_t>> points;
};

// Appends the JSON of one report (the partials endpoint's element).
void AppendReportJson(const PartitionReport& r, std::string* out);
// Parses a partials response {"partitions":[...]} into *out (appending).
Status ParseReports(std::string_view json, std::vector<PartitionReport>* out);

// For each partition, the report with the highest `next` (two processes may
// both report a partition while it moves: each state is exact for the
// records it covers; the further one is newer).
std::map<PartitionId, PartitionReport> NewestReports(std::vector<PartitionReport> reports);

// Partitions of [0, partitions) the merged answer cannot count: no report,
// or no time yet while records wait (a partition with no time that is
// caught up has no viewers and counts 0).
std::vector<PartitionId> MissingPartitions(const std::map<PartitionId, PartitionReport>& reports,
                                           int partitions);

// The seconds every partition with time can answer for.
struct MergedRange {
  bool any_time = false;
  int64_t kept_begin = 0;   // max of kept_begin
  int64_t as_of = 0;        // min of as_of: complete everywhere
  int64_t live_second = 0;  // min of each partition's running second
};
MergedRange RangeOf(const std::map<PartitionId, PartitionReport>& reports);

// The sum at `second` over the reports (each must have counts at that
// second, or no time): total and, with d, d's values with viewers sorted
// by viewers descending, then value. InvalidArgument names a partition
// whose counts are missing or for another second.
struct MergedCounts {
  int64_t second = 0;
  int64_t total = 0;
  GroupCounts groups;
};
Result<MergedCounts> SumCounts(const std::map<PartitionId, PartitionReport>& reports,
                               int64_t second, std::optional<Dimension> d);

// "0, 2, 3"
std::string PartitionList(const std::vector<PartitionId>& partitions);

}  // namespace viewpipe::ops
