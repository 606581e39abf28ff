#pragma once
// Simulator: `viewpipe sim` and the demo's load. Drives the Generator in
// simulated time (speed x wall time), routes each event to its client lane
// — or holds it while its device is offline and releases it late — cuts
// lanes into batches (batch_events or batch_wall_ms, whichever first) and
// hands them to the HttpSender (or writes NDJSON to a file). Writes the
// truth and catalog files. Run blocks; Stop may come from any thread.

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "common/status.h"
#include "sim/http_sender.h"
#include "sim/scenario.h"

namespace viewpipe::sim {

class Generator;

struct SimProgress {
  int64_t sim_time_ms = 0;  // the generator's frontier
  int64_t wall_elapsed_ms = 0;
  int64_t lag_ms = 0;  // how far the simulated clock is behind its schedule
  int64_t target_viewers = 0;
  int64_t open_sessions = 0;
  uint64_t sessions = 0;
  uint64_t generated = 0;  // valid events
  uint64_t malformed = 0;
  uint64_t held = 0;               // events of offline devices not yet released
  uint64_t released_late = 0;      // events that were held and then sent
  uint64_t duplicate_batches = 0;  // batches chosen to be delivered twice
  SenderStats sender;
};

struct SimOptions {
  Scenario scenario = DefaultScenario();
  uint64_t seed = 1;
  int64_t viewers = -1;             // -1: the scenario's traffic.viewers
  double rate = 0;                  // cap on generated events per wall second; 0: none
  int64_t duration_ms = 600000;     // simulated; 0: until Stop()
  double speed = 1.0;               // simulated ms per wall ms; <= 0: as fast as possible
  std::optional<int64_t> start_ms;  // default: now, or now - duration when speed > 1 or <= 0
  std::string truth_path;           // NDJSON truth (docs/simulator.md); empty: none
  std::string catalog_path;         // CSV title_id,genre,kind,duration_s; empty: none
  std::string out_path;             // write the NDJSON stream here instead of posting ("-": stdout)
  SenderOptions sender;
  int lanes = 16;  // groups of players batched together (one request each)
  size_t batch_events = 500;
  int64_t batch_wall_ms = 1000;
  int64_t drain_ms = 30000;  // how long the end waits for the last batches
  std::function<void(const SimProgress&)> on_progress;  // about once per wall second
};

class Simulator {
 public:
  explicit Simulator(SimOptions options);
  ~Simulator();

  // Runs to the end of the duration (or Stop), then sends what is left.
  Status Run();
  // Ends Run early: generation stops, lanes are flushed and the sender gets
  // a short drain. Thread safe, idempotent.
  void Stop();
  SimProgress progress() const;
  // The simulated start actually used (valid once Run started).
  int64_t start_ms() const { return start_ms_.load(); }

 private:
  class Router;
  Status Pace(Generator* gen, Router* router, HttpSender* sender);
  void Publish(const Generator& gen, const Router& router, const HttpSender* sender,
               int64_t wall_elapsed_ms, int64_t scheduled_ms);

  SimOptions options_;
  int64_t wall0_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> start_ms_{0};
  mutable std::mutex progress_mu_;
  SimProgress progress_;
};

}  // namespace viewpipe::sim
