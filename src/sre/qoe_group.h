#pragma once
// The groups QoE is kept for: the total, and per cdn, country, isp,
// device_type, title_id and cdn x country (key "<cdn>|<country>").
// A session's dimension values are fixed by its first event.

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "sre/qoe_counts.h"

namespace viewpipe::sre {

enum class QoeDim : uint8_t { kTotal, kCdn, kCountry, kIsp, kDeviceType, kTitleId, kCdnCountry };
inline constexpr size_t kQoeDims = 7;

std::string_view QoeDimName(QoeDim d);
// "cdn", "country", "isp", "device_type", "title_id", "cdn_country"; not "total".
std::optional<QoeDim> ParseQoeDim(std::string_view name);

struct GroupKey {
  QoeDim dim = QoeDim::kTotal;
  std::string key;  // empty for the total
  auto operator<=>(const GroupKey&) const = default;
};

// Counts per group for one stretch of event time.
using GroupCounts = std::map<GroupKey, QoeCounts>;

// A session's dimension values (isp "unknown" when absent).
struct SessionDims {
  std::string cdn, country, isp, device_type, title_id;
};

// The group of each dimension the session belongs to, total first.
std::array<GroupKey, kQoeDims> GroupsOf(const SessionDims& d);

}  // namespace viewpipe::sre
