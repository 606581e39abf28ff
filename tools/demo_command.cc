// viewpipe demo: the whole pipeline plus a simulated audience posting to it,
// in one process, until Ctrl-C. The built-in scenario (scenarios/demo.toml)
// shows a live-event spike and a CDN outage within the first minutes.

#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <fstream>
#include <thread>

#include "common/env.h"
#include "sim/scenario.h"
#include "sim/simulator.h"
#include "tools/commands.h"
#include "tools/pipeline_server.h"

namespace viewpipe::tools {
namespace {

// Accepted by the demo's collector only; `viewpipe serve` has no default key.
constexpr char kDemoWriteKey[] = "viewpipe-demo-key";

struct DemoFlags {
  ServerConfig server;
  int64_t viewers = -1;  // -1: the scenario's (3,000 in the built-in one)
  uint64_t seed = 1;
  std::string scenario_path;
  std::string truth_path;
  int senders = 4;
};

Result<sim::Scenario> DemoScenario(const std::string& path) {
  if (!path.empty()) return sim::LoadScenarioFile(path);
  return sim::ParseScenarioToml(sim::DemoScenarioToml(), "built-in demo scenario");
}

void LogProgress(const sim::SimProgress& p, sim::SimProgress* last) {
  if (p.wall_elapsed_ms / 1000 % 10 != 0) return;  // every 10 s
  const double secs = std::max<double>(
      1.0, static_cast<double>(p.wall_elapsed_ms - last->wall_elapsed_ms) / 1000.0);
  spdlog::info(
      "demo: {} viewers (target {}), {:.0f} events/s accepted; totals: {} accepted, {} "
      "duplicates, {} rejected, {} retries; {} held offline, {} queued, lag {:.1f}s",
      p.open_sessions, p.target_viewers,
      static_cast<double>(p.sender.accepted - last->sender.accepted) / secs, p.sender.accepted,
      p.sender.duplicates, p.sender.rejected, p.sender.retries, p.held, p.sender.queued_events,
      static_cast<double>(p.lag_ms) / 1000.0);
  *last = p;
}

int RunDemo(DemoFlags f) {
  auto scenario = DemoScenario(f.scenario_path);
  if (!scenario.ok()) {
    spdlog::error("scenario: {}", scenario.status().ToString());
    return 2;
  }
  f.server.collector.write_keys.push_back(kDemoWriteKey);
  spdlog::warn(
      "demo write key '{}' is enabled: it is for the embedded demo only "
      "(`viewpipe serve` accepts only the keys you configure)",
      kDemoWriteKey);
  sigset_t signals = BlockStopSignals();
  PipelineServer server(f.server);
  Status st = server.Start();
  if (!st.ok()) {
    spdlog::error("cannot start: {}", st.ToString());
    return 1;
  }
  spdlog::info("viewpipe listening on {} (data in {})", server.url(), f.server.data_dir);

  sim::SimOptions o;
  o.scenario = std::move(scenario).value();
  o.seed = f.seed;
  o.viewers = f.viewers;
  o.duration_ms = 0;  // until Ctrl-C
  o.speed = 1.0;
  o.truth_path = f.truth_path;
  // The features and batch paths read the server's catalog (serve --catalog).
  o.catalog_path = f.server.catalog_path.empty() ? JoinPath(f.server.data_dir, "catalog.csv")
                                                  : f.server.catalog_path;
  o.sender.url = "http://127.0.0.1:" + std::to_string(server.port());
  o.sender.write_key = kDemoWriteKey;
  o.sender.threads = f.senders;
  o.drain_ms = 3000;
  sim::SimProgress last;
  o.on_progress = [&last](const sim::SimProgress& p) { LogProgress(p, &last); };
  sim::Simulator simulator(o);
  Status sim_status;
  std::thread sim_thread([&] {
    sim_status = simulator.Run();
    if (!sim_status.ok()) spdlog::error("simulator stopped: {}", sim_status.ToString());
  });
  spdlog::info(
      "simulating {} steady viewers (scenario '{}'): a live event from minute 1, a "
      "cdn outage from minute 3",
      f.viewers >= 0 ? f.viewers : o.scenario.traffic.viewers, o.scenario.name);
  spdlog::info("dashboard: http://127.0.0.1:{}/  (Ctrl-C stops; data is kept in {})", server.port(),
               f.server.data_dir);
  int sig = 0;
  sigwait(&signals, &sig);
  spdlog::info("signal {}: stopping the simulator, then the server", sig);
  simulator.Stop();
  sim_thread.join();
  server.Stop();
  spdlog::info("stopped cleanly");
  return 0;
}

}  // namespace

void AddDemoCommand(CLI::App& app, std::function<int()>* run) {
  auto f = std::make_shared<DemoFlags>();
  CLI::App* cmd = app.add_subcommand(
      "demo", "Run the pipeline with a simulated audience posting to it (dashboard on the port)");
  AddServerFlags(cmd, &f->server);
  cmd->add_option("--viewers", f->viewers,
                  "Steady concurrent viewers (default: the scenario's; the built-in one has 3000)");
  cmd->add_option("--seed", f->seed, "Simulator seed")->capture_default_str();
  cmd->add_option("--scenario", f->scenario_path, "Scenario TOML instead of the built-in one");
  cmd->add_option("--truth", f->truth_path, "Write the simulator's ground truth (NDJSON) to FILE");
  cmd->add_option("--sim-senders", f->senders, "Simulator sender threads")->capture_default_str();
  cmd->callback([f, run] { *run = [f] { return RunDemo(*f); }; });
}

}  // namespace viewpipe::tools
