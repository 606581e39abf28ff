#pragma once
// Hand-built QoE events for the SRE tests.

#include <cstdint>
#include <optional>
#include <string>

#include "event/event.h"

namespace viewpipe::sre::testing {

inline constexpr int64_t kT0 = 1764400000000;  // a test's first event time
inline constexpr int64_t kTick = 1000;         // DetectorOptions::tick_ms

struct Ev {
  EventView v;
  explicit Ev(EventType type, int64_t ts, const char* session = "s1", const char* cdn = "cdn-a",
              const char* country = "DE") {
    v.event_id = "e";
    v.type = type;
    v.ts_ms = ts;
    v.received_at_ms = ts;
    v.session_id = session;
    v.profile_id = "p";
    v.title_id = "t1";
    v.device_type = DeviceType::kTv;
    v.country = country;
    v.cdn = cdn;
  }
  Ev& Startup(int32_t ms) {
    v.startup_ms = ms;
    return *this;
  }
  Ev& Rebuffer(int32_t ms) {
    v.rebuffer_ms = ms;
    return *this;
  }
  Ev& Bitrate(int32_t kbps) {
    v.bitrate_kbps = kbps;
    return *this;
  }
  Ev& Fatal(bool f) {
    v.fatal = f;
    v.error_code = "E";
    return *this;
  }
  operator const EventView&() const { return v; }
};

}  // namespace viewpipe::sre::testing
