#pragma once
// MergedQoe: the read side of the sre group. It asks every live member
// (partgroup::MemberFanout; members under sre/members/) for its partitions' partials —
// this process's own shards directly, the others over GET /v1/sre/partials
// — keeps one partial per partition (the highest offset, when a partition
// moves while it is read) and sums them:
//
//   Qoe:    as_of = the smallest closed_through of all partitions (closed
//           in every one), then the range of the series up to it, summed;
//           the same answer as SreState::Read over the whole topic.
//   Series: one group's buckets up to that as_of, summed.
//   Gather: the raw partials (the detector's slices).
//
// A partition nobody reports is never left out: the answer is 503 naming
// it. A partition whose closed_through fell behind the chosen as_of
// between the two rounds (it moved) restarts the read (3 attempts).
//
// Thread safety: thread safe.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "partgroup/group_members.h"
#include "partgroup/member_fanout.h"
#include "sre/sre_state.h"
#include "sregroup/sre_shards.h"

namespace viewpipe::sre {

struct Gathered {
  int status = 200;   // 200, or 503 (partitions without an owner, no data yet)
  std::string error;  // when status != 200
  std::vector<PartitionId> missing;
  std::vector<PartitionPartial> parts;  // one per partition, by partition
};

struct MergedQoeReading {
  int status = 200;
  std::string error;
  QoeReading reading;
};

class MergedQoe {
 public:
  // local and members must outlive this.
  MergedQoe(SreShards* local, partgroup::GroupMembers* members, int partitions,
            const SreOptions& options);

  // Every partition's partial for q; auth is forwarded (empty: none).
  Gathered Gather(const PartialQuery& q, const std::string& auth);
  MergedQoeReading Qoe(std::optional<QoeDim> dim, int64_t window_ms, const std::string& auth);
  // One group's counts per step_ms bucket over the last range_ms (nullopt
  // with *error when a partition is missing).
  std::optional<std::map<int64_t, QoeCounts>> Series(const GroupKey& g, int64_t step_ms,
                                                     int64_t range_ms, const std::string& auth,
                                                     std::string* error);
  int partitions() const { return partitions_; }

 private:
  // The smallest closed_through (kNothingClosed when a partition has none).
  static int64_t AsOf(const std::vector<PartitionPartial>& parts);

  SreShards* local_;
  partgroup::MemberFanout fanout_;
  const int partitions_;
  SreOptions options_;
};

// "1, 3" for the partitions missing from parts (0..partitions-1).
std::vector<PartitionId> MissingPartitions(const std::vector<PartitionPartial>& parts,
                                           int partitions);
// Keeps one partial per partition (the highest next offset), by partition.
std::vector<PartitionPartial> NewestPerPartition(std::vector<PartitionPartial> parts);

}  // namespace viewpipe::sre
