#pragma once
// OpsSnapshot: the live numbers of one complete second, immutable once
// published, so HTTP threads read them without any lock (OpsState).

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ops/dimension.h"
#include "ops/session_tracker.h"

namespace viewpipe::ops {

struct OpsSnapshot {
  struct Group {
    uint32_t id = 0;  // value id in KeyDirectory::names(dimension)
    int32_t viewers = 0;
  };
  uint64_t version = 0;  // increases with every publish
  int64_t as_of = 0;     // the second (ms = as_of * 1000)
  int64_t total = 0;
  // Per dimension: values with viewers, by viewers descending, then name.
  std::array<std::vector<Group>, kDimensionCount> groups;
  // The GET /v1/ops/stream event: "data: {...}\n\n" with the top 10 per
  // dimension.
  std::string stream_event;
};

// The snapshot of tracker's newest complete second. REQUIRES
// tracker.has_time(); runs on the writer thread (or under the shared lock).
std::shared_ptr<OpsSnapshot> BuildSnapshot(const SessionTracker& tracker, uint64_t version);

// Appends {"key":...,"viewers":n},... for groups[0, limit) of dimension d.
void AppendGroupsJson(const SessionTracker& tracker, Dimension d,
                      const std::vector<OpsSnapshot::Group>& groups, size_t limit,
                      std::string* out);

}  // namespace viewpipe::ops
