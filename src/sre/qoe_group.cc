#include "sre/qoe_group.h"

namespace viewpipe::sre {
namespace {

constexpr std::array<std::string_view, kQoeDims> kNames = {
    "total", "cdn", "country", "isp", "device_type", "title_id", "cdn_country"};

}  // namespace

std::string_view QoeDimName(QoeDim d) { return kNames[static_cast<size_t>(d)]; }

std::optional<QoeDim> ParseQoeDim(std::string_view name) {
  for (size_t i = 1; i < kNames.size(); ++i) {
    if (kNames[i] == name) return static_cast<QoeDim>(i);
  }
  return std::nullopt;
}

std::array<GroupKey, kQoeDims> GroupsOf(const SessionDims& d) {
  return {GroupKey{QoeDim::kTotal, ""},
          GroupKey{QoeDim::kCdn, d.cdn},
          GroupKey{QoeDim::kCountry, d.country},
          GroupKey{QoeDim::kIsp, d.isp},
          GroupKey{QoeDim::kDeviceType, d.device_type},
          GroupKey{QoeDim::kTitleId, d.title_id},
          GroupKey{QoeDim::kCdnCountry, d.cdn + "|" + d.country}};
}

}  // namespace viewpipe::sre
