#pragma once
// IsoWeek: an ISO 8601 week ("2025-W48": Monday to Sunday, week 1 holds the
// year's first Thursday), the partition of the weekly aggregates.

#include <optional>
#include <string>
#include <string_view>

#include "lake/lake_time.h"

namespace viewpipe::batch {

struct IsoWeek {
  int year = 0;
  int week = 0;  // 1..53

  static IsoWeek Of(EventDate date);
  // Parses "YYYY-Www" (a week that exists in that ISO year).
  static std::optional<IsoWeek> Parse(std::string_view s);
  std::string ToString() const;
  EventDate Monday() const;
  EventDate Sunday() const { return EventDate{Monday().days + 6}; }
  IsoWeek Prev() const { return Of(EventDate{Monday().days - 7}); }

  auto operator<=>(const IsoWeek&) const = default;
};

}  // namespace viewpipe::batch
