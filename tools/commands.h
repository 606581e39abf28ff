#pragma once
// Registration of the viewpipe subcommands. Each Add*Command adds its
// subcommand(s) to app and, when one is chosen, sets *run to the function
// that executes it (returning the process exit code).

#include <csignal>
#include <cstdio>
#include <functional>

#include "common/status.h"

namespace CLI {
class App;
}

namespace viewpipe::tools {

struct ServerConfig;
// Prints "error: <status>" to stderr; the exit code: 2 for a bad argument, else 1.
inline int Fail(const Status& st) {
  std::fprintf(stderr, "error: %s\n", st.ToString().c_str());
  return st.code() == Status::Code::kInvalidArgument ? 2 : 1;
}
// Blocks SIGINT/SIGTERM in every thread started after this call, so the
// calling thread can sigwait for them (serve and demo).
sigset_t BlockStopSignals();
// Flags shared by serve and demo.
void AddServerFlags(CLI::App* cmd, ServerConfig* config);
void AddServeCommand(CLI::App& app, std::function<int()>* run);
// consume --path: one consumer path as its own process (Kafka; docs/scale.md).
void AddConsumeCommand(CLI::App& app, std::function<int()>* run);
// dump, deadletters: read a data directory (also while a server runs on it).
void AddInspectCommands(CLI::App& app, std::function<int()>* run);
void AddSimCommands(CLI::App& app, std::function<int()>* run);  // sim, demo (src/sim)
// query, cost, lake, backfill, and the history flags of serve/demo (register last).
void AddHistoryCommands(CLI::App& app, std::function<int()>* run);
// experiments list|report|users (src/experiments).
void AddExperimentsCommands(CLI::App& app, std::function<int()>* run);
void AddBatchCommands(CLI::App& app, std::function<int()>* run);  // batch daily|weekly|runs
// features daily|training, and the --catalog flag of serve/demo (register after them).
void AddFeaturesCommands(CLI::App& app, std::function<int()>* run);

}  // namespace viewpipe::tools
