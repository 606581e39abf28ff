#pragma once
// QueryLedger: the queries run so far and what they scanned and cost, for
// the cost report. One NDJSON line per query appended to a file
// (data_dir/history/queries.ndjson), so `viewpipe query` runs and the
// server's /v1/query add to the same ledger:
//   {"at":ms,"tier":"cold","bytes_scanned":n,"bytes_cold":n,"bytes_hot":n,
//    "cost_usd":x,"elapsed_ms":n}
// Not fsync'd: a crash may lose the last lines (it is a report, not data).
// Thread safe; several processes may append (O_APPEND, one write per line).

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "common/env.h"
#include "common/status.h"

namespace viewpipe {

struct LedgerTotals {
  int64_t queries = 0;
  int64_t cold_queries = 0;  // touched the lake (cold or both)
  uint64_t bytes_cold = 0;
  uint64_t bytes_hot = 0;
  double cost_usd = 0;
};

struct LedgerEntry {
  int64_t at_ms = 0;
  std::string tier;
  uint64_t bytes_cold = 0;
  uint64_t bytes_hot = 0;
  double cost_usd = 0;
  int64_t elapsed_ms = 0;
};

class QueryLedger {
 public:
  // path empty: in memory only.
  QueryLedger(Env* env, std::string path) : env_(env), path_(std::move(path)) {}
  Status Record(const LedgerEntry& e);
  // Totals over the whole file (re-read, so other processes' queries count).
  Result<LedgerTotals> Totals();

 private:
  Env* env_;
  std::string path_;
  std::mutex mu_;
  std::unique_ptr<WritableFile> file_;
  LedgerTotals memory_;  // used when path_ is empty
};

}  // namespace viewpipe
