// viewpipe: one binary, subcommands. Each subcommand lives in its own
// *_command.cc and registers itself on the CLI here.

#include <CLI/CLI.hpp>

#include "tools/commands.h"

int main(int argc, char** argv) {
  CLI::App app{
      "viewpipe — the viewing-event pipeline of a video streaming service.\n"
      "Players POST viewing events; ops, SRE, recommendations, A/B and batch consumers\n"
      "each get them the way they need them."};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Help for every subcommand");
  std::function<int()> run;
  viewpipe::tools::AddServeCommand(app, &run);
  viewpipe::tools::AddConsumeCommand(app, &run);
  viewpipe::tools::AddInspectCommands(app, &run);
  viewpipe::tools::AddSimCommands(app, &run);
  viewpipe::tools::AddHistoryCommands(app, &run);  // after serve and demo
  viewpipe::tools::AddExperimentsCommands(app, &run);
  viewpipe::tools::AddBatchCommands(app, &run);
  viewpipe::tools::AddFeaturesCommands(app, &run);  // after serve and demo
  CLI11_PARSE(app, argc, argv);
  return run ? run() : 0;
}
