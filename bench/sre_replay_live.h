#pragma once
// sre_replay --live: replays a data dir's `qoe` topic in arrival order, as
// the live consumer saw it. Each record becomes visible at its
// received_at + delay_ms; every step_ms of that clock the records that
// became visible are handed to the server's SreProcessor (one Process per
// step, or Idle when there are none, as ConsumerRunner does), with the
// clock at that time. An alert's detected_at is then the earliest wall
// time the committed rules could raise it from the data the players had
// sent, a pipeline of delay_ms and an evaluation every step_ms: the bound
// the live path is compared with (bench/README.md, SRE).

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "sre/sre_options.h"

namespace viewpipe::bench {

struct LiveReplayArgs {
  std::string data_dir;
  int64_t step_ms = 100;
  int64_t delay_ms = 0;
  // --set key=value: detector options (max_p_value, persist_p_value,
  // burst_share, persist_ms, recent_max_ms, partial_ms, settle_ms).
  std::vector<std::pair<std::string, double>> set;
};

// --set key=value of a detector option (the keys of LiveReplayArgs::set
// and resolve_p_value); false when the key is unknown.
bool SetKnob(const std::string& key, double value, sre::DetectorOptions* d);

// Prints every qoe/silence alert as one JSON line, then a summary line.
// Returns the process exit code.
int RunLiveReplay(const LiveReplayArgs& args);

}  // namespace viewpipe::bench
