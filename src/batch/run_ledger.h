#pragma once
// RunLedger: every batch run, durable, in <state_dir>/runs.ndjson. A run
// appends a "running" line when it starts and a final line (ok, failed,
// refused) when it ends, both fsync'd; a run whose final line never came
// (the process died) reads as "interrupted" once its lock is free.
//
// Line format: {"id":"<start_ms>-<pid>-<seq>-daily-2025-11-28","job":"daily",
//   "partition":"2025-11-28","trigger":"schedule|manual","status":"ok",
//   "start_ms":..,"end_ms":..,"rows":..,"bytes":..,"provisional":false,
//   "error":"..."}
// A torn last line (crash while appending) is skipped.
//
// Thread safe.

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "common/env.h"

namespace viewpipe::batch {

struct RunRecord {
  std::string id;
  std::string job;        // "daily" | "weekly"
  std::string partition;  // "2025-11-28" | "2025-W48"
  std::string trigger;    // "schedule" | "manual"
  std::string status;     // running | ok | failed | refused | interrupted
  int64_t start_ms = 0;
  int64_t end_ms = 0;  // 0 while running
  int64_t rows = 0;
  uint64_t bytes = 0;
  bool provisional = false;
  std::string error;
};

std::string RunRecordJson(const RunRecord& r);

class RunLedger {
 public:
  // env must outlive the ledger.
  RunLedger(Env* env, std::string path) : env_(env), path_(std::move(path)) {}

  Status Append(const RunRecord& record);
  // The newest `limit` runs, newest first, each in its latest state.
  Result<std::vector<RunRecord>> Read(size_t limit);

 private:
  Env* env_;
  std::string path_;
  std::mutex mu_;
};

}  // namespace viewpipe::batch
