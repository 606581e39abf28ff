#pragma once
// Event time in the lake: the UTC day and hour an event's `ts` falls in
// (its Hive partition), as a strong type so a day is never mixed up with a
// millisecond timestamp.

#include <climits>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace viewpipe {

inline constexpr int64_t kMsPerHour = 3600LL * 1000;
inline constexpr int64_t kMsPerDay = 24 * kMsPerHour;

// A UTC calendar day, as days since 1970-01-01 (DuckDB's DATE).
struct EventDate {
  int32_t days = 0;

  static EventDate OfMs(int64_t ms) {
    int64_t d = ms / kMsPerDay;
    if (ms % kMsPerDay < 0) --d;  // floor for times before 1970
    if (d > INT32_MAX) d = INT32_MAX;  // clamp: open ranges use INT64_MIN/MAX
    if (d < INT32_MIN) d = INT32_MIN;
    return EventDate{static_cast<int32_t>(d)};
  }
  int64_t StartMs() const { return static_cast<int64_t>(days) * kMsPerDay; }
  int64_t EndMs() const { return StartMs() + kMsPerDay; }  // exclusive
  EventDate Next() const { return EventDate{days + 1}; }
  EventDate Prev() const { return EventDate{days - 1}; }
  // "YYYY-MM-DD".
  std::string ToString() const;
  // Parses "YYYY-MM-DD" (a real calendar date).
  static std::optional<EventDate> Parse(std::string_view s);

  auto operator<=>(const EventDate&) const = default;
};

// The UTC hour of day (0..23) of ms.
inline int HourOfMs(int64_t ms) {
  int64_t in_day = ms - EventDate::OfMs(ms).StartMs();
  return static_cast<int>(in_day / kMsPerHour);
}

}  // namespace viewpipe
