#pragma once
// The field table of events.md: each field's JSON name, kind, whether it is
// required, and its length limits. Internal to the parser.

#include <array>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "event/event.h"

namespace viewpipe {

// The fields of an event object, in events.md order. kFieldCount stands for
// an unknown field.
enum EventField : uint8_t {
  kEventId,
  kType,
  kTs,
  kSessionId,
  kProfileId,
  kTitleId,
  kDeviceType,
  kCountry,
  kCdn,
  kOs,
  kAppVersion,
  kIsp,
  kPositionMs,
  kBitrateKbps,
  kStartupMs,
  kRebufferMs,
  kErrorCode,
  kFatal,
  kLiveEventId,
  kExperiments,
  kFieldCount,
};

namespace event_fields {

enum class Kind : uint8_t {
  kString,
  kEventType,
  kDeviceType,
  kCountry,
  kTs,
  kInt64,
  kInt32,
  kBool,
  kExperiments,
};

struct FieldSpec {
  std::string_view name;
  Kind kind;
  bool required;
  uint8_t min_chars;  // string fields: length limits in characters (code points)
  uint8_t max_chars;
  std::string_view EventView::*str;  // where a string field goes
};

inline constexpr std::array<FieldSpec, kFieldCount> kFields = {{
    {"event_id", Kind::kString, true, 1, 64, &EventView::event_id},
    {"type", Kind::kEventType, true, 0, 0, nullptr},
    {"ts", Kind::kTs, true, 0, 0, nullptr},
    {"session_id", Kind::kString, true, 1, 64, &EventView::session_id},
    {"profile_id", Kind::kString, true, 1, 64, &EventView::profile_id},
    {"title_id", Kind::kString, true, 1, 64, &EventView::title_id},
    {"device_type", Kind::kDeviceType, true, 0, 0, nullptr},
    {"country", Kind::kCountry, true, 0, 0, nullptr},
    {"cdn", Kind::kString, true, 0, 32, &EventView::cdn},
    {"os", Kind::kString, false, 0, 32, &EventView::os},
    {"app_version", Kind::kString, false, 0, 32, &EventView::app_version},
    {"isp", Kind::kString, false, 0, 64, &EventView::isp},
    {"position_ms", Kind::kInt64, false, 0, 0, nullptr},
    {"bitrate_kbps", Kind::kInt32, false, 0, 0, nullptr},
    {"startup_ms", Kind::kInt32, false, 0, 0, nullptr},
    {"rebuffer_ms", Kind::kInt32, false, 0, 0, nullptr},
    {"error_code", Kind::kString, false, 0, 64, &EventView::error_code},
    {"fatal", Kind::kBool, false, 0, 0, nullptr},
    {"live_event_id", Kind::kString, false, 0, 64, &EventView::live_event_id},
    {"experiments", Kind::kExperiments, false, 0, 0, nullptr},
}};
inline constexpr size_t kMaxExperiments = 16;

constexpr uint32_t Bit(EventField f) { return 1u << f; }

constexpr uint32_t RequiredMask() {
  uint32_t mask = 0;
  for (size_t f = 0; f < kFields.size(); ++f) mask |= kFields[f].required ? 1u << f : 0;
  return mask;
}
inline constexpr uint32_t kRequired = RequiredMask();

// f if the key's first N bytes are f's name: a compare of a length known at
// compile time, which the compiler does inline.
template <size_t N>
inline EventField IfNamed(const char* key, EventField f) {
  return std::memcmp(key, kFields[f].name.data(), N) == 0 ? f : kFieldCount;
}

// The field a key names (exactly, no escapes), or kFieldCount. The length
// and a letter or two leave one candidate, then one compare (a memcmp call
// per candidate of the length was 2 % of the collector's CPU).
// `EventFieldsTest.EveryNameIsFoundAndNearMissesAreNot` holds it to kFields.
inline EventField LookupField(std::string_view key) {
  const char* k = key.data();
  switch (key.size()) {
    case 2:
      return IfNamed<2>(k, k[0] == 't' ? kTs : kOs);
    case 3:
      return IfNamed<3>(k, k[0] == 'c' ? kCdn : kIsp);
    case 4:
      return IfNamed<4>(k, kType);
    case 5:
      return IfNamed<5>(k, kFatal);
    case 7:
      return IfNamed<7>(k, kCountry);
    case 8:
      return IfNamed<8>(k, k[0] == 'e' ? kEventId : kTitleId);
    case 10:
      return IfNamed<10>(k, k[0] == 'p'   ? kProfileId
                            : k[0] == 'e' ? kErrorCode
                            : k[1] == 'e' ? kSessionId
                                          : kStartupMs);
    case 11:
      return IfNamed<11>(k, k[0] == 'd'   ? kDeviceType
                            : k[0] == 'a' ? kAppVersion
                            : k[0] == 'p' ? kPositionMs
                            : k[0] == 'r' ? kRebufferMs
                                          : kExperiments);
    case 12:
      return IfNamed<12>(k, kBitrateKbps);
    case 13:
      return IfNamed<13>(k, kLiveEventId);
    default:
      return kFieldCount;
  }
}

}  // namespace event_fields
}  // namespace viewpipe
