#pragma once
// Timeline: a scenario placed at an absolute simulated start. Answers what
// the world looks like at a simulated time: how many viewers the steady
// traffic and each live event want, which CDN is failing where, which
// sessions are offline, which batches get sent twice. Pure functions of
// (scenario, start, seed). Thread safe (const).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "sim/catalog.h"
#include "sim/scenario.h"

namespace viewpipe::sim {

// The effect of the outages that apply to one session at one time.
struct Conditions {
  double start_failure = 0;  // extra probability that a start fails fatally
  double rebuffering = 0;    // severity of a rebuffering outage (0: none)
  bool start_outage = false;
};

struct ResolvedLiveEvent {
  LiveEventSpec spec;
  uint32_t title = 0;
  int64_t start_ms = 0, end_ms = 0;
};

struct ResolvedOutage {
  CdnOutageSpec spec;
  int cdn = 0;
  int country = -1;  // -1: all
  int64_t start_ms = 0, end_ms = 0;
};

class Timeline {
 public:
  // Fails on a CDN, country or title the world or catalog does not have.
  static Result<Timeline> Create(const Scenario& scenario, int64_t start_ms, int64_t viewers,
                                 uint64_t run_key, const Catalog& catalog);

  int64_t start_ms() const { return start_ms_; }
  int64_t viewers() const { return viewers_; }
  // Steady viewers wanted at t (the daily curve around `viewers`).
  int64_t DesiredSteady(int64_t t) const;
  // Extra viewers live event i wants at t (0 outside its window).
  int64_t DesiredLive(size_t i, int64_t t) const;
  const std::vector<ResolvedLiveEvent>& live_events() const { return live_; }
  const std::vector<ResolvedOutage>& outages() const { return outages_; }
  Conditions ConditionsAt(uint8_t cdn, uint8_t country, int64_t t) const;

  // When a session is offline (its events held until `end`), if ever.
  struct Offline {
    int64_t start = 0, end = 0;
  };
  std::optional<Offline> OfflineWindow(uint64_t session_seq) const;
  bool HasLateDelivery() const { return !scenario_.late_deliveries.empty(); }
  // Probability that a batch sent at simulated time t is sent twice.
  double DuplicateFraction(int64_t t) const;
  double malformed_fraction() const { return scenario_.malformed_fraction; }
  const Scenario& scenario() const { return scenario_; }

  // NDJSON lines describing the outage windows and live events (truth file).
  std::string DescribeWindows(const Catalog& catalog) const;

 private:
  Scenario scenario_;
  int64_t start_ms_ = 0;
  int64_t viewers_ = 0;
  uint64_t run_key_ = 0;
  std::vector<ResolvedLiveEvent> live_;
  std::vector<ResolvedOutage> outages_;
};

}  // namespace viewpipe::sim
