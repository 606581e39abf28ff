#include "event/event.h"

#include <array>

namespace viewpipe {
namespace {

// Indexed by the enum value; index 0 is unused.
constexpr std::array<std::string_view, 12> kEventTypeNames = {
    "",     "attempt",        "play_start",     "heartbeat",    "pause", "resume",
    "seek", "bitrate_change", "rebuffer_start", "rebuffer_end", "error", "stop",
};
constexpr std::array<std::string_view, 7> kDeviceTypeNames = {
    "", "tv", "mobile", "tablet", "web", "console", "other",
};

}  // namespace

bool IsQoe(EventType type) {
  switch (type) {
    case EventType::kAttempt:
    case EventType::kPlayStart:
    case EventType::kRebufferStart:
    case EventType::kRebufferEnd:
    case EventType::kBitrateChange:
    case EventType::kError:
    case EventType::kStop:
    // The SRE path needs these for the rebuffering ratio (playing time) and
    // the average bitrate (heartbeats), so it reads `qoe` alone.
    case EventType::kHeartbeat:
    case EventType::kPause:
    case EventType::kResume:
      return true;
    case EventType::kSeek:
      return false;
  }
  return false;
}

std::string_view EventTypeName(EventType type) {
  size_t i = static_cast<size_t>(type);
  return i < kEventTypeNames.size() ? kEventTypeNames[i] : std::string_view();
}

std::optional<EventType> ParseEventType(std::string_view name) {
  for (size_t i = 1; i < kEventTypeNames.size(); ++i) {
    if (kEventTypeNames[i] == name) return static_cast<EventType>(i);
  }
  return std::nullopt;
}

std::string_view DeviceTypeName(DeviceType type) {
  size_t i = static_cast<size_t>(type);
  return i < kDeviceTypeNames.size() ? kDeviceTypeNames[i] : std::string_view();
}

std::optional<DeviceType> ParseDeviceType(std::string_view name) {
  for (size_t i = 1; i < kDeviceTypeNames.size(); ++i) {
    if (kDeviceTypeNames[i] == name) return static_cast<DeviceType>(i);
  }
  return std::nullopt;
}

}  // namespace viewpipe
