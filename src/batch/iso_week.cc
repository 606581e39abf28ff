#include "batch/iso_week.h"

#include <cstdio>

namespace viewpipe::batch {
namespace {

// 1970-01-01 was a Thursday: weekday 0 = Monday .. 6 = Sunday.
int Weekday(EventDate d) { return ((d.days % 7) + 7 + 3) % 7; }

// The Monday of week 1 of ISO year y: the week holding January 4th.
EventDate Week1Monday(int year) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "%04d-01-04", year);
  EventDate jan4 = *EventDate::Parse(buf);
  return EventDate{jan4.days - Weekday(jan4)};
}

}  // namespace

IsoWeek IsoWeek::Of(EventDate date) {
  EventDate thursday{date.days - Weekday(date) + 3};  // decides the ISO year
  int year = std::stoi(thursday.ToString().substr(0, 4));
  int week = (date.days - Week1Monday(year).days) / 7 + 1;
  return IsoWeek{year, week};
}

std::optional<IsoWeek> IsoWeek::Parse(std::string_view s) {
  int year = 0, week = 0;
  char tail = 0;
  std::string str(s);
  if (s.size() != 8 || std::sscanf(str.c_str(), "%4d-W%2d%c", &year, &week, &tail) != 2) {
    return std::nullopt;
  }
  if (year < 1971 || year > 9998 || week < 1 || week > 53) return std::nullopt;
  IsoWeek w{year, week};
  if (Of(w.Monday()) != w) return std::nullopt;  // week 53 of a 52-week year
  return w;
}

std::string IsoWeek::ToString() const {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "%04d-W%02d", year, week);
  return buf;
}

EventDate IsoWeek::Monday() const { return EventDate{Week1Monday(year).days + (week - 1) * 7}; }

}  // namespace viewpipe::batch
