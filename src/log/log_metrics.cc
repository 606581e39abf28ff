#include "log/log_metrics.h"

namespace viewpipe {

LogMetrics LogMetrics::Create(MetricsRegistry* registry) {
  LogMetrics m;
  if (registry == nullptr) return m;
  m.append_records = registry->GetCounter("viewpipe_log_append_records_total",
                                          "Records appended durably to the log.");
  m.append_bytes = registry->GetCounter("viewpipe_log_append_bytes_total",
                                        "Bytes of record batches appended durably to the log.");
  m.group_commits = registry->GetCounter("viewpipe_log_group_commits_total",
                                         "Group commits (one write + fdatasync per file each).");
  m.fsync_seconds = registry->GetHistogram(
      "viewpipe_log_fsync_seconds", "Duration of one fdatasync of a log segment.",
      {0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1});
  m.group_bytes = registry->GetHistogram("viewpipe_log_group_commit_bytes",
                                         "Bytes written by one group commit.",
                                         {16e3, 64e3, 256e3, 1e6, 4e6, 16e6});
  const char* errors = "viewpipe_log_append_errors_total";
  const char* help = "Appends refused or failed, by reason.";
  m.buffer_full = registry->GetCounter(errors, help, {{"reason", "buffer_full"}});
  m.no_space = registry->GetCounter(errors, help, {{"reason", "no_space"}});
  m.io_error = registry->GetCounter(errors, help, {{"reason", "io_error"}});
  return m;
}

}  // namespace viewpipe
