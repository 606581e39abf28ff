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
  // The detector is evaluated every tick_ms of event time (watermark-
  // driven, once the watermark is tick_lateness_ms past the tick) over the
  // trailing span_ms of data in tick_ms slices, partial newest ones included.
  int64_t tick_ms = 1000;
  int64_t tick_lateness_ms = 500;
  // While live (the watermark within partial_within_ms of the wall clock),
  // between ticks: a raise-only evaluation (OutageDetector::OnPartialTick)
  // every partial_ms of watermark (0: none).
  int64_t partial_ms = 200;
  int64_t partial_within_ms = 60000;
  int64_t span_ms = 20000;
  // Minimum volume in the span: attempts for the start rates (25 a minute,
  // scaled to the span),
  // ended plays for the playback-failure rate, playing + stalled time and
  // rebuffers for the rebuffering ratio.
  uint64_t min_attempts = 8;
  uint64_t min_ended_plays = 8;
  int64_t min_watch_ms = 400000;
  uint64_t min_rebuffers = 3;
  // The newest data (for resolution and severity): the newest recent_ms,
  // extended back (at most recent_max_ms) until they hold recent_volume of
  // the span's minimum volume (the newest slices are partial while data
  // arrive out of order). An anomaly's run of elevated slices must hold
  // persist_ms of them in a row (or one more with gaps) to raise an alert
  // (so a blip of a second or two does not), its newest elevated slice
  // within recent_max_ms; the anomaly must be gone for resolve_ms to
  // resolve it.
  int64_t recent_ms = 1000;
  int64_t recent_max_ms = 5000;
  double recent_volume = 0.25;
  int64_t persist_ms = 3000;
  // A run of elevated slices bridges gaps of at most this many slices with
  // data that are not elevated (1 for the rebuffering ratio: with 2, a small
  // cdn x country cell's few long stalls raised one in the steady hour).
  int max_gap = 2;
  int64_t resolve_ms = 30000;
  // A proportion's newest data keep an alert open only when they are over
  // baseline + floor / 2 with a Poisson tail at that rate <= this (one
  // normal failure in a thin group's newest second is not the outage); 1:
  // any excess keeps it open (the rule before session 7). And with it < 1,
  // the data since the ticks counted normal began, pooled, keep it open
  // when over that rate with a tail <= resolve_stretch_p_value (a count
  // above the median there): a thin CDN's newest attempts alone resolved an
  // alert in the middle of a 10 min outage (tests/e2e/test_scale_sre_group.py,
  // session 7; docs/sre.md "Resolution").
  double resolve_p_value = 1e-2;
  double resolve_stretch_p_value = 0.5;
  // The rebuffering ratio resolves on settled data: the newest slices
  // before now - settle_ms. A session's playing time is counted at its next
  // event (a heartbeat every 10 s, events.md) while a stall's time is
  // counted when it ends, so the newest ~10 s hold a fraction of the
  // playing time: their ratio reads several times the true one, and live a
  // CDN's rebuffering alert did not resolve for minutes (it then covered the
  // CDN's next outage). 10 s + the players' batches.
  int64_t settle_ms = 12000;
  // Baseline: the last history readings seen while normal (one per tick:
  // 15 min); no alert before min_history of them (2 min).
  size_t history = 900;
  size_t min_history = 120;
  double mad_k = 5.0;
  // For proportions: the excess must also be significant (binomial z).
  double min_z = 4.0;
  // An anomaly's own counts since it began must be this unlikely under the
  // null (outage_detector_scan.cc: rates, a Poisson upper tail against the
  // baseline rate; stall starts, a binomial tail against the rest of the
  // span), and those after its first persist_ms - tick_ms (the anomaly is
  // still there: a shorter blip is not) this unlikely on their own.
  double max_p_value = 1e-8;
  double persist_p_value = 1e-2;
  double burst_share = 1.0 / 3;
  // Stall starts: their rate since the anomaly began at least this many
  // times the rest of the span's, which must cover stall_reference_ms.
  double stall_surge_ratio = 3.0;
  // Stall starts are judged only in groups with this many per span (the
  // learned mean; a tiny cdn x country cell raised one in the steady hour).
  double min_span_stall_starts = 5.0;
  int64_t stall_reference_ms = 10000;
  // Fatal errors (failed starts and playback failures together, counted
  // as they arrive) against the group's learned count a span: raised on
  // vsf_rate or playback_failure_rate, whichever holds more of them, when
  // their rate since the anomaly began is at least this many times the
  // learned one (which is at least one a span) with a Poisson tail <=
  // max_p_value, and the burst and newest-data tests hold. A CDN that fails
  // its starts fails its segments too: on a thin CDN the playing sessions'
  // failures arrive long before enough failed starts, but as a share of
  // ended plays they count for little (bench/README.md, SRE, session 23).
  // 0: off.
  double fatal_surge_ratio = 3.0;
  // Silence: a group with median attempts per span >= min_attempts that
  // sees no data at all for silent_ms.
  int64_t silent_ms = 30000;
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
  // How often the state is checkpointed with its offsets (then committed):
  // what a restart replays at most, and the `sre` group's committed lag.
  int64_t checkpoint_interval_ms = 10000;
};

}  // namespace viewpipe::sre
