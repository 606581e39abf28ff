#pragma once
// Helpers of the simulator tests: run a generator to the end and collect
// what it emits (events, their JSON, the truth lines).

#include <memory>
#include <string>
#include <vector>

#include "sim/generator.h"

namespace viewpipe::sim::testing {

inline constexpr int64_t kStart = 1'764'400'000'000;  // 2025-11-29T07:06:40Z

struct Run {
  std::unique_ptr<Generator> gen;
  std::vector<SimEvent> events;
  std::vector<std::string> json;   // one per event
  std::vector<std::string> truth;  // one line per second
};

class Collect : public EventSink {
 public:
  explicit Collect(Run* run) : run_(run) {}
  void OnEvent(const SimEvent& e) override {
    run_->events.push_back(e);
    std::string s;
    run_->gen->writer().Append(e, &s);
    run_->json.push_back(std::move(s));
  }

 private:
  Run* run_;
};

// A heap-allocated Run: its truth sink points at it.
inline std::unique_ptr<Run> Generate(const Scenario& scenario, int64_t viewers, int64_t duration_ms,
                                     uint64_t seed = 7, int64_t start = kStart) {
  auto owned = std::make_unique<Run>();
  Run& run = *owned;
  GeneratorOptions o;
  o.seed = seed;
  o.start_ms = start;
  o.duration_ms = duration_ms;
  o.viewers = viewers;
  auto g = Generator::Create(scenario, o);
  if (!g.ok()) return owned;
  run.gen = std::move(g).value();
  run.gen->EnableTruth([&run](std::string_view line) { run.truth.emplace_back(line); });
  Collect sink(&run);
  run.gen->Generate(start + duration_ms, SIZE_MAX, &sink);
  run.gen->FlushTruth();
  return owned;
}

}  // namespace viewpipe::sim::testing
