#pragma once
// The SRE path's knobs, with the defaults `viewpipe serve` uses
// (environment overrides in sre_module.h).

#include <cstdint>
#include <string>

#include "sre/pipeline_health.h"

namespace viewpipe::sre {

struct QoeOptions {
  int64_t window_ms = 10000;
  // Window [s, s + window) closes (is judged by the detector) once the
  // watermark reaches s + window + lateness_ms; later events for it still
  // amend the stored series and are counted
  // (viewpipe_sre_late_contributions_total).
  int64_t lateness_ms = 5000;
  // events.md: a session without events for this long is over (a session
  // that never started is then an EBVS).
  int64_t session_timeout_ms = 30000;
  // Absurd values: startup times above this are left out of VST (the
  // session still counts as started); stalls longer are clamped to it;
  // bitrates above max_bitrate_kbps are left out of the average. Each is
  // counted in viewpipe_sre_absurd_values_total{field}.
  int32_t max_startup_ms = 60000;
  int32_t max_rebuffer_ms = 600000;
  int32_t max_bitrate_kbps = 100000;
};

struct DetectorOptions {
  // Evaluations look at the trailing eval_windows windows (30 s).
  int eval_windows = 3;
  // Minimum volume in those windows: attempts for the start rates (25 a
  // minute), ended plays for the playback-failure rate, playing + stalled
  // time and rebuffers for the rebuffering ratio.
  uint64_t min_attempts = 12;
  uint64_t min_ended_plays = 12;
  int64_t min_watch_ms = 600000;
  uint64_t min_rebuffers = 3;
  // An anomaly must hold for this many evaluations in a row (each with its
  // newest window elevated on its own) to raise an alert, and be gone for
  // resolve_after in a row to resolve it.
  int persist = 2;
  int resolve_after = 3;
  // Baseline: median and MAD of the last history values seen while normal;
  // no alert before min_history of them.
  size_t history = 90;
  size_t min_history = 12;
  double mad_k = 5.0;
  // For proportions: the excess must also be significant (binomial z).
  double min_z = 4.0;
  // Silence: a group with median attempts >= min_attempts that sees no
  // data at all for silent_windows windows.
  int silent_windows = 3;
};

struct SreOptions {
  QoeOptions qoe;
  DetectorOptions detector;
  HealthOptions health;  // pipeline_health.h
  // Retention of the read series: 10 s windows, 1 min and 5 min rollups.
  int64_t keep_10s_ms = 3600LL * 1000;
  int64_t keep_1m_ms = 6 * 3600LL * 1000;
  int64_t keep_5m_ms = 24 * 3600LL * 1000;
  // While caught up and within live_window_ms of the wall clock, the
  // watermark follows the wall clock minus idle_lag_ms (windows close
  // without traffic).
  int64_t live_window_ms = 60000;
  int64_t idle_lag_ms = 1000;
};

}  // namespace viewpipe::sre
