#include "ops/dimension.h"

namespace viewpipe::ops {
namespace {

constexpr std::array<std::string_view, kDimensionCount> kNames = {
    "title_id", "country", "device_type", "cdn", "live_event_id"};

}  // namespace

std::string_view DimensionName(Dimension d) { return kNames[Index(d)]; }

std::optional<Dimension> ParseDimension(std::string_view name) {
  for (Dimension d : kAllDimensions) {
    if (kNames[Index(d)] == name) return d;
  }
  return std::nullopt;
}

}  // namespace viewpipe::ops
