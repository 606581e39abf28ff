#pragma once
// PartitionShards: the ops state of the partitions one process owns, one
// SessionTracker per partition of `viewing` (partial_counts.h says why the
// sum over partitions is exact).
//
// Thread safety: one shared mutex. The consumer thread is the only writer:
// it changes shards (and the map: partitions gained and lost) inside
// Write(), held for one polled batch, and may read them without the lock
// elsewhere. HTTP threads read inside Read() / Report() (shared lock).

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <vector>

#include "log/log.h"
#include "ops/dimension.h"
#include "ops/ops_options.h"
#include "ops/session_tracker.h"
#include "opsgroup/partial_counts.h"

namespace viewpipe::ops {

struct Shard {
  static constexpr int64_t kNoTime = INT64_MIN;
  std::unique_ptr<SessionTracker> tracker;
  Offset next = 0;          // one past the last record applied
  int64_t time = kNoTime;   // the largest WatermarkTime the partition delivered
  bool caught_up = false;   // nothing unread in the partition (last look)
};

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

class PartitionShards {
 public:
  using Map = std::map<PartitionId, Shard>;
  explicit PartitionShards(const TrackerOptions& options) : options_(options) {}

  const TrackerOptions& options() const { return options_; }

  template <typename Fn>
  auto Write(Fn&& fn) {
    std::unique_lock<std::shared_mutex> lock(mu_);
    return fn(shards_);
  }
  // The consumer thread's unlocked view (it is the only writer).
  const Map& owner_view() const { return shards_; }
  template <typename Fn>
  auto Read(Fn&& fn) const {
    std::shared_lock<std::shared_mutex> lock(mu_);
    return fn(static_cast<const Map&>(shards_));
  }

  // One report per owned partition: times always; counts at q.second when
  // the partition can answer for it (kept_begin <= second <= its running
  // second); the series when q.series and the range is within it.
  std::vector<PartitionReport> Report(const ReportQuery& q) const;
  std::vector<PartitionId> Owned() const;

 private:
  TrackerOptions options_;
  mutable std::shared_mutex mu_;
  Map shards_;
};

// The report of one shard (under the caller's lock).
PartitionReport ReportOf(PartitionId p, const Shard& s, const ReportQuery& q);

}  // namespace viewpipe::ops
