#pragma once
// The ops path's knobs, with the defaults `viewpipe serve` uses.

#include <cstdint>
#include <string>

namespace viewpipe::ops {

struct TrackerOptions {
  // events.md's session timeout: a session counts while t - (its last
  // event's ts) <= timeout_ms.
  int64_t timeout_ms = 30000;
  // The lateness bound: an event whose ts is at least (watermark -
  // lateness_ms) rounded down to a whole second is applied exactly, to every
  // second it changes. Older events still update their session, but the
  // seconds before that bound are frozen and are not corrected; they are
  // counted in viewpipe_ops_late_beyond_bound_total. Memory grows with it:
  // a session keeps its event times of the last lateness_ms (2 bytes per
  // heartbeat).
  int64_t lateness_ms = 600000;
  // Second s is complete once the watermark reaches s*1000 + 999 +
  // complete_after_ms (the wait for stragglers of that second).
  int64_t complete_after_ms = 200;
  // Frozen history older than this (behind the mutable seconds) is dropped;
  // the series keeps at least the last 24 h.
  int64_t retention_ms = 25LL * 3600 * 1000;
};

struct OpsOptions {
  TrackerOptions tracker;
  // How often the state is written to data_dir/ops/ (and offsets committed).
  int64_t checkpoint_interval_ms = 10000;
  // Write periodic checkpoints from a forked copy of the process (the
  // consumer pauses only for the fork), instead of on the consumer thread.
  bool background_checkpoint = true;
  // When the log has nothing new and the watermark is within live_window_ms
  // of the wall clock, the watermark follows the wall clock minus
  // idle_lag_ms, so the live numbers keep ticking (and sessions time out)
  // without traffic. Replays of old data (watermark far behind the wall
  // clock) are never advanced this way.
  int64_t live_window_ms = 60000;
  int64_t idle_lag_ms = 1000;
  // Concurrent GET /v1/ops/stream clients; more get 503.
  int max_stream_clients = 16;
  // Fewest wall-clock ms between two published snapshots while busy.
  int64_t publish_interval_ms = 50;
};

}  // namespace viewpipe::ops
