#pragma once
// The offline feature jobs (`viewpipe features daily|training`), both
// reading the lake through LakeEventSource and folding with OfflineFold, so
// they compute exactly what the online store does.
//
// Daily (T+1): the features of every profile and title as of the end of day
// D (T = D's end - 1 ms), from the events of days D-29..D with ts <= T:
//   <out_dir>/profile_daily/event_date=D/part-00000.parquet
//   <out_dir>/title_daily/event_date=D/part-00000.parquet
//   and _SUCCESS (JSON: event_date, as_of, rows, events, lake_files) in each,
//   written last. A rerun replaces the day. Refuses a day the lake has not
//   sealed unless allow_unsealed.
// Training: for each label row (profile_id, title_id, label_ts[, label]) of
// a CSV with a header, the profile's and the title's features as they were at
// label_ts (events with ts <= label_ts only), one Parquet file, rows in
// label_ts order: profile_id, title_id, label_ts, label, p_*, t_*.

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "features/offline_fold.h"
#include "lake/lake_time.h"
#include "lake/object_store.h"

namespace viewpipe::features {

struct DailyOptions {
  ObjectStore* lake = nullptr;  // the lake (OpenLakeStore); outlives the job
  std::string catalog_path;  // missing file: every genre "unknown" (warned)
  std::string out_dir;       // <data_dir>/features
  EventDate date;
  bool allow_unsealed = false;
};

struct OfflineReport {
  int64_t events = 0;
  int64_t lake_files = 0;
  int64_t profiles = 0;
  int64_t titles = 0;
  int64_t rows = 0;  // training rows
  int64_t catalog_misses = 0;
  std::string ToJson() const;
};

Result<OfflineReport> RunDailyJob(const DailyOptions& options);

struct TrainingOptions {
  ObjectStore* lake = nullptr;
  std::string catalog_path;
  std::string labels_path;  // CSV: profile_id,title_id,label_ts[,label]
  std::string out_path;     // Parquet
};

// Parses a labels CSV (header line first); InvalidArgument names a bad line.
Result<std::vector<LabelRow>> ParseLabels(std::string_view csv);
Result<OfflineReport> RunTrainingJob(const TrainingOptions& options);

}  // namespace viewpipe::features
