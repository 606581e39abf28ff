#pragma once
// Scenario: the simulator's timeline (docs/simulator.md has the TOML format).
// Every time in a scenario is an offset from the simulated start, in ms.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace viewpipe::sim {

struct TrafficSpec {
  int64_t viewers = 1000;                      // steady concurrent viewers (daily mean)
  double daily_amplitude = 0.0;                // 0.3: the curve swings +-30 % around `viewers`
  int64_t day_length_ms = 24LL * 3600 * 1000;  // compress the day: "30m" is a day in 30 min
  double peak_hour = 20.0;                     // hour of the (compressed) day with most viewers
  int titles = 1000;                           // catalog size
  int64_t profiles = 0;                        // 0: 4x the peak viewers (at least 2,000)
};

// A true effect of an experiment variant (relative: 0.05 is +5 %).
struct VariantEffect {
  std::string variant;
  double watch_time = 0.0;  // on the viewer's intended playing time
  double startup = 0.0;     // on startup_ms
};

struct ExperimentSpec {
  std::string id;
  std::vector<std::string> variants;
  std::vector<double> split;  // weights, one per variant (normalized)
  std::vector<VariantEffect> effects;
  // A deliberately broken assignment (for sample-ratio-mismatch tests):
  // this fraction of the profiles hashed to a variant other than the first
  // is assigned the first variant instead. 0: the documented hash only.
  double assignment_bias = 0.0;
};

struct LiveEventSpec {
  std::string id;        // the live_event_id
  std::string title_id;  // empty: the most popular live title of the catalog
  int64_t at_ms = 60000;
  int64_t ramp_ms = 60000;  // audience grows linearly to its peak over this
  int64_t duration_ms = 300000;
  double multiplier = 10.0;  // total viewers at the peak, relative to the steady level
};

enum class OutageKind { kStartFailures, kRebuffering };
std::string_view OutageKindName(OutageKind kind);

struct CdnOutageSpec {
  std::string cdn;
  std::string country;  // empty: every country
  int64_t at_ms = 0;
  int64_t duration_ms = 120000;
  OutageKind kind = OutageKind::kStartFailures;
  double severity = 0.6;  // start_failures: extra probability that a start fails fatally
};

struct LateDeliverySpec {
  int64_t at_ms = 0;
  int64_t duration_ms = 60000;
  double fraction = 0.05;  // of sessions that go offline at some point of the window
  int64_t offline_min_ms = 60000;
  int64_t offline_max_ms = 240000;
};

struct DuplicatesSpec {
  int64_t at_ms = 0;
  int64_t duration_ms = 0;  // 0: to the end of the run
  double fraction = 0.02;   // of batches sent twice
};

struct Scenario {
  std::string name = "steady";
  TrafficSpec traffic;
  std::vector<ExperimentSpec> experiments;
  std::vector<LiveEventSpec> live_events;
  std::vector<CdnOutageSpec> cdn_outages;
  std::vector<LateDeliverySpec> late_deliveries;
  std::vector<DuplicatesSpec> duplicates;
  double malformed_fraction = 0.001;  // extra invalid events per valid event
};

// Steady traffic, two experiments ("exp-autoplay": treatment +5 % watch
// time; "exp-row-order": three variants, no effect), nothing else.
Scenario DefaultScenario();
// The demo's timeline; the same text ships as scenarios/demo.toml.
std::string_view DemoScenarioToml();

// Parses a scenario. Keys it does not set keep DefaultScenario()'s values;
// unknown keys and bad values are InvalidArgument naming the key.
Result<Scenario> ParseScenarioToml(std::string_view text, std::string_view source_name);
Result<Scenario> LoadScenarioFile(const std::string& path);

// "10m", "90s", "1h30m", "250ms", "2d"; a bare number is seconds.
Result<int64_t> ParseDurationMs(std::string_view text);

}  // namespace viewpipe::sim
