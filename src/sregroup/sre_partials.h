#pragma once
// What one partition of the sre group tells the others (GET
// /v1/sre/partials, binary): its offset and times, and its counts for one
// query — the 1 s slices of a range (the detector; every group but
// title_id, which it does not judge), one dimension's groups
// merged over a range of a series (/v1/sre/qoe), or one group's series
// buckets (/v1/sre/qoe/series).
//
// Wire format (application/octet-stream, ops/bytes.h varints): varint
// count, then per partition: varint partition, varint next offset, signed
// watermark (INT64_MIN: none), signed closed_through, signed slices_from,
// then its counts (sre_codec.h PutTimedCounts: start -> groups).

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "log/log.h"
#include "sre/qoe_group.h"

namespace viewpipe::sre {

struct PartialQuery {
  enum class What : uint8_t { kTimes, kSlices, kRange, kSeries };
  What what = What::kTimes;
  int64_t from = 0, to = 0;  // ms, [from, to)
  int64_t step_ms = 10000;   // kRange, kSeries: which series
  std::optional<QoeDim> dim;  // kRange: the groups of dim (and always the total)
  GroupKey group;             // kSeries
};

struct PartitionPartial {
  static constexpr int64_t kNone = INT64_MIN;
  PartitionId partition = 0;
  Offset next = 0;
  int64_t watermark = kNone;
  int64_t closed_through = kNone;
  int64_t slices_from = kNone;
  // kSlices: slice start -> groups; kRange: {from: merged groups};
  // kSeries: bucket start -> {group: counts}.
  std::map<int64_t, GroupCounts> counts;
  bool operator==(const PartitionPartial&) const = default;
};

// The query string of q for /v1/sre/partials, and back.
std::string PartialsPath(const PartialQuery& q);
Status ParsePartialQuery(const std::map<std::string, std::string>& params, PartialQuery* q);

std::string EncodePartials(const std::vector<PartitionPartial>& parts);
Status DecodePartials(std::string_view in, std::vector<PartitionPartial>* parts);

// Sums the counts of every partial into one map (start -> groups).
std::map<int64_t, GroupCounts> SumCounts(const std::vector<PartitionPartial>& parts);

}  // namespace viewpipe::sre
