#pragma once
// The historical reads of the ops API (api.md), over a tracker the caller
// holds OpsState::Read on. The live second is served from OpsSnapshot.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"
#include "ops/dimension.h"
#include "ops/ops_snapshot.h"
#include "ops/session_tracker.h"

namespace viewpipe::ops {

// The most points one series request may return: 24 h at 1 s, both ends.
inline constexpr int64_t kMaxSeriesPoints = 86401;

// Viewers at second (REQUIRES kept_begin() <= second <= as_of()): the total,
// and with d the values of d with viewers, sorted as OpsSnapshot's groups.
void CountsAt(const SessionTracker& tracker, int64_t second, std::optional<Dimension> d,
              int64_t* total, std::vector<OpsSnapshot::Group>* groups);

// Points (second, viewers) of the total (no d) or of value `key` of d, for
// seconds from, from + step, ... <= to (REQUIRES the range within the kept
// series, step >= 1). An unknown key has 0 viewers.
void SeriesOf(const SessionTracker& tracker, std::optional<Dimension> d, std::string_view key,
              int64_t from, int64_t to, int64_t step,
              std::vector<std::pair<int64_t, int64_t>>* points);

}  // namespace viewpipe::ops
