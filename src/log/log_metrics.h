#pragma once
// LogMetrics: the counters and histograms FileLog updates on its hot paths,
// looked up once at Open. Every pointer is null when no registry was given;
// use the Inc/Observe helpers, which accept null.

#include <cstdint>

#include "common/metrics.h"

namespace viewpipe {

struct LogMetrics {
  Counter* append_records = nullptr;   // viewpipe_log_append_records_total
  Counter* append_bytes = nullptr;     // viewpipe_log_append_bytes_total
  Counter* group_commits = nullptr;    // viewpipe_log_group_commits_total
  Histogram* fsync_seconds = nullptr;  // viewpipe_log_fsync_seconds
  Histogram* group_bytes = nullptr;    // viewpipe_log_group_commit_bytes
  Counter* buffer_full = nullptr;      // viewpipe_log_append_errors_total{reason=...}
  Counter* no_space = nullptr;
  Counter* io_error = nullptr;

  // All null when registry is null.
  static LogMetrics Create(MetricsRegistry* registry);

  static void Inc(Counter* c, uint64_t n = 1) {
    if (c != nullptr) c->Inc(n);
  }
  static void Observe(Histogram* h, double v) {
    if (h != nullptr) h->Observe(v);
  }
};

}  // namespace viewpipe
