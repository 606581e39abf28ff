#pragma once
// The viewing event of ../shared/spec/events.md (the player contract), as a
// view: string fields point into a buffer the caller keeps alive (the
// request body's parse buffer, or a log record). Copy what must outlive it.

#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

namespace viewpipe {

enum class EventType : uint8_t {
  kAttempt = 1,
  kPlayStart = 2,
  kHeartbeat = 3,
  kPause = 4,
  kResume = 5,
  kSeek = 6,
  kBitrateChange = 7,
  kRebufferStart = 8,
  kRebufferEnd = 9,
  kError = 10,
  kStop = 11,
};

enum class DeviceType : uint8_t { kTv = 1, kMobile, kTablet, kWeb, kConsole, kOther };

// Quality-of-experience events ride their own topic (`qoe`) to the SRE path:
// events.md's QoE types plus heartbeat, pause and resume (docs/sre.md).
bool IsQoe(EventType type);
std::string_view EventTypeName(EventType type);
std::optional<EventType> ParseEventType(std::string_view name);
std::string_view DeviceTypeName(DeviceType type);
std::optional<DeviceType> ParseDeviceType(std::string_view name);

struct EventView {
  std::string_view event_id;
  EventType type = EventType::kHeartbeat;
  int64_t ts_ms = 0;           // client event time, ms since epoch (UTC)
  int64_t received_at_ms = 0;  // stamped by the collector
  std::string_view session_id;
  std::string_view profile_id;
  std::string_view title_id;
  DeviceType device_type = DeviceType::kOther;
  std::string_view country;  // ISO 3166-1 alpha-2
  std::string_view cdn;
  std::string_view os;           // empty when absent
  std::string_view app_version;  // empty when absent
  std::string_view isp;          // empty when absent
  std::optional<int64_t> position_ms;
  std::optional<int32_t> bitrate_kbps;
  std::optional<int32_t> startup_ms;
  std::optional<int32_t> rebuffer_ms;
  std::string_view error_code;  // empty when absent
  std::optional<bool> fatal;
  std::string_view live_event_id;  // empty when absent
  std::vector<std::pair<std::string_view, std::string_view>> experiments;  // exp_id -> variant
};

}  // namespace viewpipe
