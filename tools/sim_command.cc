// viewpipe sim: a realistic subscriber population posting viewing events to
// a collector over HTTP, on a scenario timeline, with the ground truth of
// concurrent viewers written beside it (docs/simulator.md).

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <optional>

#include "sim/scenario.h"
#include "sim/simulator.h"
#include "tools/commands.h"

namespace viewpipe::tools {
namespace {

struct SimFlags {
  sim::SimOptions options;
  std::string duration = "10m";
  std::string scenario_path;
  std::optional<int64_t> start_ms;
  int senders = 4;
  bool quiet = false;
};

std::atomic<sim::Simulator*> g_running{nullptr};

void OnStopSignal(int) {
  if (sim::Simulator* s = g_running.load()) s->Stop();
}

std::string Clock(int64_t ms) {
  const int64_t s = ms / 1000;
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%02lld:%02lld:%02lld", static_cast<long long>(s / 3600),
                static_cast<long long>(s / 60 % 60), static_cast<long long>(s % 60));
  return buf;
}

// One line per second on stderr: rates over the last second, totals at the end.
class ProgressPrinter {
 public:
  explicit ProgressPrinter(int64_t start_ms) : start_ms_(start_ms) {}
  void Print(const sim::SimProgress& p) {
    const sim::SenderStats& s = p.sender;
    const sim::SenderStats& q = last_.sender;
    std::fprintf(stderr,
                 "[sim +%s] viewers %lld (target %lld) | events/s gen %llu sent %llu accepted "
                 "%llu dup %llu rejected %llu | retries %llu 503s %llu failed %llu | held %llu "
                 "queued %llu lag %.1fs\n",
                 Clock(p.sim_time_ms - start_ms_).c_str(), static_cast<long long>(p.open_sessions),
                 static_cast<long long>(p.target_viewers),
                 static_cast<unsigned long long>(p.generated + p.malformed - last_.generated -
                                                 last_.malformed),
                 static_cast<unsigned long long>(s.events_sent - q.events_sent),
                 static_cast<unsigned long long>(s.accepted - q.accepted),
                 static_cast<unsigned long long>(s.duplicates - q.duplicates),
                 static_cast<unsigned long long>(s.rejected - q.rejected),
                 static_cast<unsigned long long>(s.retries - q.retries),
                 static_cast<unsigned long long>(s.http_503 - q.http_503),
                 static_cast<unsigned long long>(s.failed_events - q.failed_events),
                 static_cast<unsigned long long>(p.held),
                 static_cast<unsigned long long>(s.queued_events),
                 static_cast<double>(p.lag_ms) / 1000.0);
    last_ = p;
  }
  static void Summary(const sim::SimProgress& p, int64_t start_ms) {
    const sim::SenderStats& s = p.sender;
    std::fprintf(
        stderr,
        "[sim] done in %.1fs wall, %s simulated: %llu sessions, %llu events + %llu "
        "malformed (%.0f events/s); sent %llu in %llu requests (%.1f MB), accepted %llu, "
        "duplicates %llu (of %llu re-sent), rejected %llu, retries %llu (503s %llu, "
        "transport errors %llu), failed %llu, released late %llu\n",
        static_cast<double>(p.wall_elapsed_ms) / 1000.0, Clock(p.sim_time_ms - start_ms).c_str(),
        static_cast<unsigned long long>(p.sessions), static_cast<unsigned long long>(p.generated),
        static_cast<unsigned long long>(p.malformed),
        p.wall_elapsed_ms > 0 ? static_cast<double>(p.generated + p.malformed) * 1000.0 /
                                    static_cast<double>(p.wall_elapsed_ms)
                              : 0.0,
        static_cast<unsigned long long>(s.events_sent), static_cast<unsigned long long>(s.requests),
        static_cast<double>(s.bytes_sent) / 1e6, static_cast<unsigned long long>(s.accepted),
        static_cast<unsigned long long>(s.duplicates),
        static_cast<unsigned long long>(s.resent_events),
        static_cast<unsigned long long>(s.rejected), static_cast<unsigned long long>(s.retries),
        static_cast<unsigned long long>(s.http_503),
        static_cast<unsigned long long>(s.transport_errors),
        static_cast<unsigned long long>(s.failed_events),
        static_cast<unsigned long long>(p.released_late));
  }

 private:
  int64_t start_ms_;
  sim::SimProgress last_;
};

// The totals as one JSON line on stdout, for scripts and tests.
void PrintJsonSummary(const sim::SimProgress& p, int64_t start_ms) {
  const sim::SenderStats& s = p.sender;
  std::printf(
      "{\"start\":%lld,\"end\":%lld,\"sessions\":%llu,\"events\":%llu,\"malformed\":%llu,"
      "\"sent\":%llu,\"requests\":%llu,\"accepted\":%llu,\"duplicates\":%llu,"
      "\"resent\":%llu,\"resent_malformed\":%llu,\"rejected\":%llu,\"retries\":%llu,\"http_503\":%"
      "llu,"
      "\"transport_errors\":%llu,\"failed\":%llu,\"released_late\":%llu}\n",
      static_cast<long long>(start_ms), static_cast<long long>(p.sim_time_ms),
      static_cast<unsigned long long>(p.sessions), static_cast<unsigned long long>(p.generated),
      static_cast<unsigned long long>(p.malformed), static_cast<unsigned long long>(s.events_sent),
      static_cast<unsigned long long>(s.requests), static_cast<unsigned long long>(s.accepted),
      static_cast<unsigned long long>(s.duplicates),
      static_cast<unsigned long long>(s.resent_events),
      static_cast<unsigned long long>(s.resent_malformed),
      static_cast<unsigned long long>(s.rejected), static_cast<unsigned long long>(s.retries),
      static_cast<unsigned long long>(s.http_503),
      static_cast<unsigned long long>(s.transport_errors),
      static_cast<unsigned long long>(s.failed_events),
      static_cast<unsigned long long>(p.released_late));
  std::fflush(stdout);
}

int RunSim(SimFlags f) {
  // stdout carries the JSON summary (or the stream with --out -): log to stderr.
  spdlog::set_default_logger(spdlog::stderr_color_mt("sim"));
  sim::SimOptions& o = f.options;
  if (!f.scenario_path.empty()) {
    auto scenario = sim::LoadScenarioFile(f.scenario_path);
    if (!scenario.ok()) {
      spdlog::error("scenario: {}", scenario.status().ToString());
      return 2;
    }
    o.scenario = std::move(scenario).value();
  }
  auto duration = sim::ParseDurationMs(f.duration);
  if (!duration.ok()) {
    spdlog::error("--duration: {}", duration.status().ToString());
    return 2;
  }
  o.duration_ms = *duration;
  o.start_ms = f.start_ms;
  o.sender.threads = f.senders;
  if (o.out_path.empty() && o.sender.write_key.empty()) {
    spdlog::error("no write key: pass --write-key KEY (or set VIEWPIPE_WRITE_KEY)");
    return 2;
  }
  std::unique_ptr<ProgressPrinter> printer;
  sim::Simulator* self = nullptr;
  o.on_progress = [&printer, &self, quiet = f.quiet](const sim::SimProgress& p) {
    // The first call comes a second in, when the start is resolved.
    if (!printer) printer = std::make_unique<ProgressPrinter>(self->start_ms());
    if (!quiet) printer->Print(p);
  };
  sim::Simulator run(o);
  self = &run;
  g_running = &run;
  std::signal(SIGINT, OnStopSignal);
  std::signal(SIGTERM, OnStopSignal);
  Status st = run.Run();
  g_running = nullptr;
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
  const sim::SimProgress p = run.progress();
  ProgressPrinter::Summary(p, run.start_ms());
  if (o.out_path != "-") PrintJsonSummary(p, run.start_ms());
  if (!st.ok()) {
    spdlog::error("sim: {}", st.ToString());
    return 1;
  }
  if (p.sender.failed_events > 0) {
    spdlog::error("{} events were not delivered", p.sender.failed_events);
    return 1;
  }
  return 0;
}

}  // namespace

void AddDemoCommand(CLI::App& app, std::function<int()>* run);  // demo_command.cc

void AddSimCommand(CLI::App& app, std::function<int()>* run) {
  auto f = std::make_shared<SimFlags>();
  sim::SimOptions& o = f->options;
  CLI::App* cmd = app.add_subcommand(
      "sim",
      "Simulate subscribers: post realistic viewing events to a collector (see docs/simulator.md)");
  cmd->add_option("--url", o.sender.url, "Collector base URL")->capture_default_str();
  cmd->add_option("--write-key", o.sender.write_key, "Write key (Authorization: Bearer KEY)")
      ->envname("VIEWPIPE_WRITE_KEY");
  cmd->add_option("--viewers", o.viewers,
                  "Steady concurrent viewers (default: the scenario's, 1000)");
  cmd->add_option("--rate", o.rate, "Cap on events per second (0: none)")->capture_default_str();
  cmd->add_option("--duration", f->duration,
                  "Simulated time to run, e.g. 90s, 10m, 2h (0: until Ctrl-C)")
      ->capture_default_str();
  cmd->add_option("--scenario", f->scenario_path,
                  "Scenario timeline (TOML, e.g. scenarios/demo.toml)");
  cmd->add_option("--speed", o.speed,
                  "Simulated time per wall time (60: an hour a minute; 0: as fast as possible). "
                  "Above 1 the run starts at now - duration so it ends about now")
      ->capture_default_str();
  cmd->add_option("--seed", o.seed, "Random seed: the event stream is a pure function of it")
      ->capture_default_str();
  cmd->add_option("--start", f->start_ms, "Simulated start time, ms since the epoch");
  cmd->add_option("--truth", o.truth_path, "Write the ground truth (NDJSON) to FILE");
  cmd->add_option("--catalog-out", o.catalog_path,
                  "Write the catalog (CSV title_id,genre,kind,duration_s) to FILE");
  cmd->add_option("--out", o.out_path,
                  "Write the NDJSON event stream to FILE ('-': stdout) instead of posting");
  cmd->add_option("--senders", f->senders, "Sender threads (one keep-alive connection each)")
      ->capture_default_str();
  cmd->add_option("--batch-events", o.batch_events, "Events per batch at most (1-1000)")
      ->capture_default_str();
  cmd->add_flag("--quiet", f->quiet, "No per-second progress lines");
  cmd->callback([f, run] { *run = [f] { return RunSim(*f); }; });
}

void AddSimCommands(CLI::App& app, std::function<int()>* run) {
  AddSimCommand(app, run);
  AddDemoCommand(app, run);
}

}  // namespace viewpipe::tools
