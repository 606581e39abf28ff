// `viewpipe batch` (src/batch): run the batch consumers by hand.
//   viewpipe batch daily --date YYYY-MM-DD [--force]   sessions + interactions of a sealed day
//   viewpipe batch weekly --week YYYY-Www [--force]    weekly title/genre/country stats
//   viewpipe batch runs                                the run ledger
// They read the lake of --data-dir, or the one --config names (lake.uri =
// s3://...), also while a server runs on it: the job's lock keeps the
// server's scheduler from running the same job.

#include <CLI/CLI.hpp>
#include <unistd.h>

#include <cstdio>

#include "batch/batch_module.h"
#include "batch/batch_runner.h"
#include "tools/commands.h"
#include "tools/scale_config.h"
#include "warehouse/history_module.h"

namespace viewpipe::tools {
namespace {

struct BatchCli {
  std::string data_dir = "data";
  std::string catalog;
  std::string date;
  std::string week;
  bool force = false;
  size_t limit = 50;
};

// A progress bar on a terminal, plain lines otherwise.
batch::JobProgress ProgressBar(std::string what) {
  bool tty = isatty(STDERR_FILENO) != 0;
  return [tty, what](int step, int steps, std::string_view doing) {
    if (!tty) {
      std::fprintf(stderr, "%s: %d/%d %.*s\n", what.c_str(), step, steps,
                   static_cast<int>(doing.size()), doing.data());
      return;
    }
    const int width = 30;
    int filled = width * step / steps;
    std::fprintf(stderr, "\r%s [%s%s] %d/%d %-36.*s", what.c_str(),
                 std::string(filled, '#').c_str(), std::string(width - filled, '.').c_str(), step,
                 steps, static_cast<int>(doing.size()), doing.data());
    if (step == steps) std::fprintf(stderr, "\n");
    std::fflush(stderr);
  };
}

int RunJob(const BatchCli& c, bool weekly) {
  auto store = OpenLakeStore(HistoryServeOptions(), c.data_dir);
  if (!store.ok()) return Fail(store.status());
  batch::BatchRunner runner(
      batch::MakeRunnerOptions(c.data_dir, store->get(), Clock::System(), c.catalog));
  Result<batch::JobResult> r = Status::InvalidArgument("no job");
  if (weekly) {
    auto week = batch::IsoWeek::Parse(c.week);
    if (!week) return Fail(Status::InvalidArgument("--week: expected YYYY-Www (ISO week)"));
    r = runner.RunWeekly(*week, c.force, "manual", ProgressBar("weekly " + c.week));
  } else {
    auto date = EventDate::Parse(c.date);
    if (!date) return Fail(Status::InvalidArgument("--date: expected YYYY-MM-DD"));
    r = runner.RunDaily(*date, c.force, "manual", ProgressBar("daily " + c.date));
  }
  if (!r.ok()) return Fail(r.status());
  std::printf("{\"run\":\"%s\",\"rows\":%lld,\"bytes\":%llu,\"provisional\":%s}\n",
              r->run_key.c_str(), static_cast<long long>(r->rows),
              static_cast<unsigned long long>(r->bytes), r->provisional ? "true" : "false");
  return 0;
}

int RunRuns(const BatchCli& c) {
  auto store = OpenLakeStore(HistoryServeOptions(), c.data_dir);
  if (!store.ok()) return Fail(store.status());
  batch::BatchRunner runner(
      batch::MakeRunnerOptions(c.data_dir, store->get(), Clock::System(), c.catalog));
  auto json = runner.RunsJson(c.limit);
  if (!json.ok()) return Fail(json.status());
  std::printf("%s\n", json->c_str());
  return 0;
}

}  // namespace

void AddBatchCommands(CLI::App& app, std::function<int()>* run) {
  auto c = std::make_shared<BatchCli>();
  CLI::App* batch = app.add_subcommand("batch", "Run the batch consumers (daily, weekly) by hand");
  batch->require_subcommand(1);
  auto common = [c](CLI::App* cmd) {
    cmd->add_option("--data-dir", c->data_dir, "Data directory")->capture_default_str();
    AddLakeConfigFlag(cmd, &c->data_dir);
    cmd->add_option("--catalog", c->catalog,
                    "Catalog CSV title_id,genre,kind,duration_s (default <data-dir>/catalog.csv)");
    cmd->add_flag("--force", c->force,
                  "Run on days that are not sealed yet (the output is marked provisional)");
  };
  CLI::App* daily = batch->add_subcommand("daily", "Sessions and interactions of one sealed day");
  daily->add_option("--date", c->date, "Day (YYYY-MM-DD, UTC)")->required();
  common(daily);
  daily->callback([c, run] { *run = [c] { return RunJob(*c, false); }; });
  CLI::App* weekly = batch->add_subcommand("weekly", "Title/genre/country stats of an ISO week");
  weekly->add_option("--week", c->week, "ISO week (YYYY-Www)")->required();
  common(weekly);
  weekly->callback([c, run] { *run = [c] { return RunJob(*c, true); }; });
  CLI::App* runs = batch->add_subcommand("runs", "The run ledger (newest first)");
  runs->add_option("--data-dir", c->data_dir, "Data directory")->capture_default_str();
  AddLakeConfigFlag(runs, &c->data_dir);
  runs->add_option("--limit", c->limit, "Runs to list")->capture_default_str();
  runs->callback([c, run] { *run = [c] { return RunRuns(*c); }; });
}

}  // namespace viewpipe::tools
