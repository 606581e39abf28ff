#pragma once
// MergedReader: the read side of the ops group. It asks every live member
// (partgroup::MemberFanout) for its partition reports — this process's own shards
// directly, the others over GET /v1/ops/partials — keeps one report per
// partition (partial_counts.h), and sums them at one second every
// partition can answer for:
//
//   newest: the smallest as_of of all partitions (complete everywhere);
//   at:     the second asked, if within [max kept_begin, min as_of];
//   live:   the smallest running second, "complete" when <= min as_of.
//
// Two rounds: the partitions' times, then their counts at the chosen
// second. A partition that moves between the rounds (its new owner may be
// behind) makes the round start again, at most three times. A partition
// nobody reports is never silently left out: the answer is 503 naming it.
//
// Thread safety: thread safe (HTTP threads).

#include <array>
#include <optional>
#include <string>
#include <vector>

#include "opsgroup/partial_counts.h"
#include "opsgroup/partition_shards.h"
#include "partgroup/group_members.h"
#include "partgroup/member_fanout.h"

namespace viewpipe::ops {

struct MergedAnswer {
  int status = 200;   // 200, 400 (bad second) or 503 (missing partitions, no data)
  std::string error;  // when status != 200
  int64_t second = 0;
  bool complete = true;
  int64_t total = 0;
  std::array<GroupCounts, kDimensionCount> groups;  // the dimensions asked
  std::vector<std::pair<int64_t, int64_t>> points;  // a series
  int64_t from = 0, to = 0;                         // a series' clipped range
};

class MergedReader {
 public:
  enum class Mode { kNewest, kAt, kLive };
  // local and members must outlive the reader.
  MergedReader(PartitionShards* local, partgroup::GroupMembers* members, int partitions);

  // Every partition's reports for q; auth is the caller's Authorization
  // header (forwarded to the members; empty: none).
  std::vector<PartitionReport> Collect(const ReportQuery& q, const std::string& auth);

  MergedAnswer Counts(Mode mode, int64_t at_second, const std::vector<Dimension>& dims,
                      const std::string& auth);
  // The series of the total (no d) or of value key of d, seconds
  // [from, to] by step, clipped to the merged kept range as OpsRoutes does.
  MergedAnswer Series(std::optional<Dimension> d, const std::string& key,
                      std::optional<int64_t> from, std::optional<int64_t> to, int64_t step,
                      const std::string& auth);

 private:
  // 503 naming missing partitions, or nullopt when all are there.
  std::optional<MergedAnswer> CheckComplete(const std::map<PartitionId, PartitionReport>& r);

  PartitionShards* local_;
  partgroup::MemberFanout fanout_;
  const int partitions_;
};

// A request's query string for q (the partials endpoint's parameters).
std::string PartialsQuery(const ReportQuery& q);

}  // namespace viewpipe::ops
