// Feature subcommands (src/features):
//   viewpipe features daily --date D      T+1 features of day D from the sealed lake day
//   viewpipe features training --labels FILE --out FILE   point-in-time training set
// and the features flags of `serve` and `demo` (FeaturesServeOptions()).

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <cstdio>

#include "common/env.h"
#include "features/features_module.h"
#include "features/offline_jobs.h"
#include "tools/commands.h"
#include "tools/scale_config.h"
#include "warehouse/history_module.h"

namespace viewpipe::tools {
namespace {

struct FeaturesCli {
  std::string data_dir = "data";
  std::string catalog;
  std::string date;
  bool allow_unsealed = false;
  std::string labels;
  std::string out;
};

std::string CatalogOf(const FeaturesCli& c) {
  return c.catalog.empty() ? features::DefaultCatalogPath(c.data_dir) : c.catalog;
}

int Report(const Result<features::OfflineReport>& r) {
  if (!r.ok()) {
    std::fprintf(stderr, "error: %s\n", r.status().ToString().c_str());
    return r.status().code() == Status::Code::kInvalidArgument ? 2 : 1;
  }
  std::printf("%s\n", r->ToJson().c_str());
  return 0;
}

// stdout carries the JSON report only; the log goes to stderr.
void LogToStderr() { spdlog::set_default_logger(spdlog::stderr_color_mt("features-cli")); }

int RunDaily(const FeaturesCli& c) {
  LogToStderr();
  auto date = EventDate::Parse(c.date);
  if (!date) {
    std::fprintf(stderr, "error: --date wants YYYY-MM-DD, got '%s'\n", c.date.c_str());
    return 2;
  }
  auto lake = OpenLakeStore(HistoryServeOptions(), c.data_dir);
  if (!lake.ok()) return Report(lake.status());
  features::DailyOptions o;
  o.lake = lake->get();
  o.catalog_path = CatalogOf(c);
  o.out_dir = features::FeaturesDir(c.data_dir);
  o.date = *date;
  o.allow_unsealed = c.allow_unsealed;
  return Report(features::RunDailyJob(o));
}

int RunTraining(const FeaturesCli& c) {
  LogToStderr();
  auto lake = OpenLakeStore(HistoryServeOptions(), c.data_dir);
  if (!lake.ok()) return Report(lake.status());
  features::TrainingOptions o;
  o.lake = lake->get();
  o.catalog_path = CatalogOf(c);
  o.labels_path = c.labels;
  o.out_path = c.out;
  return Report(features::RunTrainingJob(o));
}

}  // namespace

void AddFeaturesCommands(CLI::App& app, std::function<int()>* run) {
  features::FeaturesOptions* serve = &features::FeaturesServeOptions();
  for (CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; })) {
    if (sub->get_name() != "serve" && sub->get_name() != "demo") continue;
    sub->add_flag("--features-sync", serve->sync_writes,
                  "fsync the feature store's WAL on every batch (survives power loss)");
    sub->add_option("--features-max-batch", serve->max_batch, "Ids per batch feature lookup")
        ->capture_default_str();
    sub->add_option("--features-lookup-port", serve->lookup_port,
                    "Also serve GET /v1/features/{profiles,titles}/<id> on this port from an "
                    "event-loop server (0: any free port; -1: off)")
        ->capture_default_str();
    sub->add_option("--features-lookup-threads", serve->lookup_threads,
                    "Event loops of the lookup port")
        ->capture_default_str()
        ->check(CLI::Range(1, 64));
    sub->add_option("--features-lookup-slice-us", serve->lookup_slice_us,
                    "Scheduler slice of the lookup loops, us: a short one lets a woken loop "
                    "preempt pipeline work at once (0: the kernel's default)")
        ->capture_default_str();
    sub->add_option("--features-lookup-nice", serve->lookup_nice,
                    "Nice of the lookup loops relative to the process (< 0 needs CAP_SYS_NICE)")
        ->capture_default_str()
        ->check(CLI::Range(-39, 39));
    sub->add_option("--features-lookup-fifo-priority", serve->lookup_fifo_priority,
                    "Real-time (SCHED_FIFO) priority of the lookup loops, 1-99: they run "
                    "ahead of all pipeline work (needs CAP_SYS_NICE; 0: off)")
        ->capture_default_str()
        ->check(CLI::Range(0, 99));
    sub->add_option("--features-lookup-cache-mb", serve->lookup_cache_mb,
                    "Memory for the answers of profile lookups, kept until the profile "
                    "changes (RocksDB store; 0: off)")
        ->capture_default_str();
  }
  auto c = std::make_shared<FeaturesCli>();
  CLI::App* cmd = app.add_subcommand("features", "Offline recommendation features from the lake");
  cmd->require_subcommand(1);
  auto common = [c](CLI::App* sub) {
    sub->add_option("--data-dir", c->data_dir, "Data directory")->capture_default_str();
    AddLakeConfigFlag(sub, &c->data_dir);
    sub->add_option("--catalog", c->catalog, "Catalog CSV (default: <data-dir>/catalog.csv)");
  };
  CLI::App* daily =
      cmd->add_subcommand("daily", "Features as of the end of a sealed lake day (T+1)");
  common(daily);
  daily->add_option("--date", c->date, "The day, YYYY-MM-DD (UTC)")->required();
  daily->add_flag("--allow-unsealed", c->allow_unsealed, "Read a day the lake has not sealed");
  daily->callback([c, run] { *run = [c] { return RunDaily(*c); }; });
  CLI::App* training =
      cmd->add_subcommand("training", "Point-in-time correct features for labelled rows");
  common(training);
  training->add_option("--labels", c->labels, "CSV: profile_id,title_id,label_ts[,label]")
      ->required();
  training->add_option("--out", c->out, "Parquet file to write")->required();
  training->callback([c, run] { *run = [c] { return RunTraining(*c); }; });
}

}  // namespace viewpipe::tools
