#pragma once
// Backfill: writes generated history (backfill_generator.h) straight into
// the lake, one sealed day per commit, oldest first. Resumable: a day whose
// manifest says it was backfilled with the same seed is skipped, and a day
// interrupted before its commit is simply written again (nothing of it is
// visible before). Days from also_load_from on are handed to also_load
// first (the hot tier, which drops event_ids it already holds), so a crash
// between the two loads repeats without duplicates.

#include <cstdint>
#include <functional>
#include <vector>

#include "common/status.h"
#include "event/event.h"
#include "lake/lake_writer.h"

namespace viewpipe {

struct BackfillProgress {
  int done_days = 0;  // written or skipped
  int total_days = 0;
  int skipped_days = 0;
  int64_t events = 0;  // written by this run
  uint64_t bytes = 0;  // Parquet bytes written by this run
  EventDate date;      // the day just finished
  double elapsed_s = 0;
};

struct BackfillOptions {
  int days = 400;
  int64_t events_per_day = 50000;
  uint64_t seed = 1;
  EventDate end_day;  // exclusive: the days are [end_day - days, end_day)
  EventDate also_load_from{INT32_MAX};
  std::function<Status(EventDate, const std::vector<EventView>&)> also_load;
  std::function<void(const BackfillProgress&)> progress;  // after every day
};

Result<BackfillProgress> RunBackfill(LakeWriter* writer, const BackfillOptions& options);

}  // namespace viewpipe
