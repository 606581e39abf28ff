#pragma once
// PartitionShards: the ops state of the partitions one process owns, one
// SessionTracker per partition of `viewing` (partial_counts.h says why the
// sum over partitions is exact).
//
// Thread safety: partgroup::ShardMap's (HTTP threads read inside Read() /
// Report()).

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "log/log.h"
#include "ops/dimension.h"
#include "ops/ops_options.h"
#include "ops/session_tracker.h"
#include "opsgroup/partial_counts.h"
#include "partgroup/shard_map.h"

namespace viewpipe::ops {

using Shard = partgroup::PartitionShard<SessionTracker>;

// What a partials request asks each partition for.
struct ReportQuery {
  std::optional<int64_t> second;  // counts at this second (seconds)
  std::vector<Dimension> dims;    // the dimensions whose groups to include
  // A series of the total (no series_dim) or of one value, when set.
  bool series = false;
  std::optional<Dimension> series_dim;
  std::string key;
  int64_t from = 0, to = 0, step = 1;  // seconds
};

class PartitionShards : public partgroup::ShardMap<Shard> {
 public:
  explicit PartitionShards(const TrackerOptions& options) : options_(options) {}

  const TrackerOptions& options() const { return options_; }

  // One report per owned partition: times always; counts at q.second when
  // the partition can answer for it (kept_begin <= second <= its running
  // second); the series when q.series and the range is within it.
  std::vector<PartitionReport> Report(const ReportQuery& q) const;

 private:
  TrackerOptions options_;
};

// The report of one shard (under the caller's lock).
PartitionReport ReportOf(PartitionId p, const Shard& s, const ReportQuery& q);

}  // namespace viewpipe::ops
