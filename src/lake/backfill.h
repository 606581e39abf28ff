#pragma once
// Backfill: writes generated history (backfill_generator.h) straight into
// the lake, oldest first. A day of up to flush_rows events is one sealed
// commit. A bigger day is committed every flush_rows events (so the Parquet
// writer sorts and spills one chunk at a time, not the whole day: a 300 M
// event day would spill ~60 GB), then sealed, then compacted to one file
// set per hour, as the live path's days are. Resumable: a day whose
// manifest says it was backfilled with the same seed is skipped; a day
// interrupted before its seal is written again (its committed chunks stay
// unsealed, and the lake's per-day event_id set drops their events). Days from also_load_from on are handed to also_load
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
  int64_t flush_rows = 4000000;  // commit a day in chunks of this many (0: never)
  EventDate also_load_from{INT32_MAX};
  std::function<Status(EventDate, const std::vector<EventView>&)> also_load;
  std::function<void(const BackfillProgress&)> progress;  // after every day
};

Result<BackfillProgress> RunBackfill(LakeWriter* writer, const BackfillOptions& options);

}  // namespace viewpipe
