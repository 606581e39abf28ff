#pragma once
// The sessions of an ISO week for the weekly job, from the seven sealed
// daily `sessions` datasets instead of the week's raw events (a demo-rate
// week is ~210 M events; re-deriving its sessions took over 30 min where
// the dailies already hold them).
//
// Exactly the sessions SessionsSql gives over the week's events together:
// a session with a row in one day only has all its events in that day, so
// its daily row is its weekly row. A session with rows in several days (it
// crosses midnight) is not the merge of its rows (playing time across
// midnight and the playing state carried into the next day are in neither
// daily row), so it is re-derived with SessionsSql from the raw events of
// the days it has rows in, filtered to those sessions.

#include <string>
#include <vector>

#include "lake/duck.h"
#include "lake/manifest.h"

namespace viewpipe::batch {

struct WeekDay {
  EventDate date;
  std::string sessions_uri;             // the day's datasets/sessions part (DuckDB URI)
  std::vector<std::string> event_uris;  // the day's lake files
};

struct WeeklySessionStats {
  int64_t day_rows = 0;         // rows of the daily datasets read
  int64_t multi_day = 0;        // sessions with rows in more than one day
  int64_t raw_days_read = 0;    // days whose raw events were read for them
};

// Creates the table `sessions` (WeeklySessionColumns) of days, with the
// table `catalog` for completion; uses the table names day_sessions,
// multi_day and redo.
Result<WeeklySessionStats> BuildWeeklySessions(DuckConnection* conn,
                                               const std::vector<WeekDay>& days);

}  // namespace viewpipe::batch
