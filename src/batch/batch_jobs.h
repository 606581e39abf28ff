#pragma once
// BatchJobs: the daily (T+1) and weekly jobs. They read only the sealed
// lake (through its manifests: LakeReader) with DuckDB, and publish their
// outputs through an OutputCommitter (atomic, deterministic file names):
//
//   datasets/sessions/event_date=D/part-00000.parquet      one row per session
//   datasets/interactions/event_date=D/part-00000.parquet  one row per profile x title
//   aggregates/weekly_title_stats/week=YYYY-Www/part-00000.parquet
//
// The weekly job reads the seven days' committed daily sessions (see
// weekly_sessions.h), so they must be current first (DailiesDue;
// BatchRunner::RunWeekly runs them). Each output's manifest records its inputs: the day manifest version of
// every lake day read, the catalog's CRC32C and (weekly) the previous
// week's output checksum; the same inputs give byte-identical files (DuckDB
// runs on one thread with explicit ORDER BYs). A day that is not sealed is
// refused unless force, which marks the output provisional.
//
// Thread compatible; callers serialize runs of one job (BatchRunner).

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "batch/iso_week.h"
#include "batch/output_committer.h"
#include "batch/weekly_sessions.h"
#include "common/env.h"
#include "lake/lake_reader.h"

namespace viewpipe::batch {

struct JobOptions {
  ObjectStore* store = nullptr;  // the lake
  Env* env = nullptr;
  std::string scratch_dir;   // local Parquet before upload (emptied per run)
  std::string catalog_path;  // CSV title_id,genre,kind,duration_s; missing: no catalog
  std::string memory_limit = "1GB";
  // Sessions are built in buckets of hash(session_id) of at most this many
  // events, so memory stays bounded on any day size (outputs do not depend
  // on it).
  int64_t rows_per_bucket = 3'000'000;
};

struct JobResult {
  std::string run_key;  // "daily-2025-11-28", "weekly-2025-W48"
  int64_t rows = 0;
  uint64_t bytes = 0;
  bool provisional = false;
  std::map<std::string, int64_t> inputs;
};

// Reports step (1-based) of steps, and what it does.
using JobProgress = std::function<void(int step, int steps, std::string_view what)>;

std::string DailyRunKey(EventDate date);
std::string WeeklyRunKey(IsoWeek week);
std::string DailyPrefix(std::string_view dataset, EventDate date);
std::string WeeklyPrefix(IsoWeek week);

class BatchJobs {
 public:
  explicit BatchJobs(JobOptions options);

  Result<JobResult> Daily(EventDate date, bool force, const JobProgress& progress);
  Result<JobResult> Weekly(IsoWeek week, bool force, const JobProgress& progress);
  // True when the committed output is missing, provisional, or was built
  // from other inputs than the lake (root) and catalog hold now.
  Result<bool> DailyDue(EventDate date, const RootManifest& root);
  Result<bool> WeeklyDue(IsoWeek week, const RootManifest& root);
  // The days of week with lake files whose daily sessions are missing or
  // not built from the lake's current inputs: Weekly needs them first.
  Result<std::vector<EventDate>> DailiesDue(IsoWeek week, bool force);

  // Tests: see OutputCommitter::SetProbe.
  void SetCommitProbe(std::function<Status(std::string_view)> probe) { probe_ = std::move(probe); }

 private:
  Result<std::map<std::string, int64_t>> DailyInputs(EventDate date, const RootManifest& root,
                                                     bool force);
  Result<std::map<std::string, int64_t>> WeeklyInputs(IsoWeek week, const RootManifest& root,
                                                      bool force);
  Result<uint32_t> CatalogCrc();
  // The committed daily sessions of date are from its current inputs.
  Result<bool> DailyCurrent(EventDate date, const RootManifest& root, bool force);
  // Per day of files: its lake files and committed daily sessions
  // (Unavailable when those are not current).
  Result<std::vector<WeekDay>> WeekDays(IsoWeek week, const RootManifest& root,
                                        const std::vector<LakeFileRef>& files, bool force);
  Result<bool> Due(const std::vector<std::string>& prefixes,
                   const Result<std::map<std::string, int64_t>>& inputs);
  Result<JobResult> Publish(const std::string& run_key, std::vector<Output> outputs);

  JobOptions options_;
  LakeReader reader_;
  std::function<Status(std::string_view)> probe_;
};

}  // namespace viewpipe::batch
