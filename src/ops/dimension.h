#pragma once
// The dimensions concurrent viewers are broken down by (api.md `by=`).

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace viewpipe::ops {

enum class Dimension : uint8_t { kTitle = 0, kCountry, kDevice, kCdn, kLiveEvent };
inline constexpr size_t kDimensionCount = 5;
inline constexpr std::array<Dimension, kDimensionCount> kAllDimensions = {
    Dimension::kTitle, Dimension::kCountry, Dimension::kDevice, Dimension::kCdn,
    Dimension::kLiveEvent};

// The API name: "title_id", "country", "device_type", "cdn", "live_event_id".
std::string_view DimensionName(Dimension d);
std::optional<Dimension> ParseDimension(std::string_view name);
inline size_t Index(Dimension d) { return static_cast<size_t>(d); }

}  // namespace viewpipe::ops
