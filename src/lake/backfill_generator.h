#pragma once
// BackfillGenerator: a year and more of realistic viewing history, one UTC
// day at a time, as a pure function of (seed, day) so a backfill can resume
// anywhere. (src/sim is the live load generator; it simulates every second
// of every session, too slow for 400 days, so history has this compact
// generator of its own.)
//
// The world: a catalog of titles whose popularity follows a Zipf law
// (s = 1.1) over a seeded ranking, with new releases over time; profiles
// with a country (weighted mix), a primary device (TV-heavy), OS, ISP and
// app version, and a Pareto-distributed appetite; per-country CDN mixes;
// A/B experiments running over date ranges with seeded variant splits.
// A day's volume follows growth over the period, a weekly cycle (weekends
// up), noise and a few live-event spikes; sessions start on an evening-
// peaked diurnal curve and play attempt, play_start (or a start failure or
// exit), heartbeats every 10 s, pauses, seeks, bitrate changes, stalls,
// errors and a stop. received_at is ts plus network delay, hours for the
// occasional offline device.
//
// Not thread safe.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "event/event.h"
#include "lake/lake_time.h"

namespace viewpipe {

struct BackfillWorld {
  uint64_t seed = 1;
  int titles = 3000;
  int profiles = 200000;
  int64_t events_per_day = 50000;  // average over the period
  EventDate first_day;             // growth and experiments are laid out
  EventDate end_day;               // over [first_day, end_day)
};

class BackfillGenerator {
 public:
  explicit BackfillGenerator(const BackfillWorld& world);

  // Calls sink with every event of date, in session order (views valid
  // during the call). Returns the number of events.
  int64_t GenerateDay(EventDate date, const std::function<void(const EventView&)>& sink);
  // The day's planned volume (before the per-session rounding).
  int64_t PlannedEvents(EventDate date) const;

 private:
  struct Session;
  void EmitSession(const Session& s, const std::function<void(const EventView&)>& sink);
  uint32_t SampleTitle(uint64_t u, EventDate date) const;

  BackfillWorld world_;
  std::vector<double> title_cdf_;
  std::vector<int32_t> title_release_;  // days since first_day the title appears
  std::vector<std::string> title_ids_;
  std::vector<double> profile_cdf_;  // appetite of profile ranks (Pareto)
  uint64_t counter_ = 0;
};

}  // namespace viewpipe
