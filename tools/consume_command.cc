// viewpipe consume --path ops|sre|features|lake|hot --config FILE: one
// consumer path as its own process on the Kafka log (docs/scale.md), with
// the path's read routes, /metrics and /readyz on --listen, and no
// collector. The path's consumer group is the same as inside `serve`.
//
// sre: several processes share the partitions of `qoe` (the sre group,
// src/sregroup): each keeps the QoE state of its partitions, checkpoints it
// in the same shared store under sre/, and the owner of partition 0 runs the
// detector on every member's merged slices.
// ops: several processes share the partitions of `viewing` (the ops group,
// src/opsgroup): each counts the sessions of its partitions, checkpoints
// them in the shared store ([ops] state_uri) and answers for all of them
// by merging every member's counts. lake: several processes share them too,
// each writing its partitions' files into the one lake ([lake] uri) with
// fenced, merged commits (src/lake/partition_committer.h). features on the
// Redis store: several processes too, each writing partial states of its
// partitions (fenced) that lookups merge. The other paths keep one state for
// all partitions: a second process of one of them stops with an error as
// soon as the group moves a partition (ConsumerRunner), never writing twice.

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include "features/features_module.h"
#include "opsgroup/ops_group_module.h"
#include "sregroup/sre_group_module.h"
#include "warehouse/history_module.h"
#include "tools/commands.h"
#include "tools/pipeline_server.h"
#include "tools/scale_config.h"

namespace viewpipe::tools {
namespace {

// The module that runs a path (the lake and the hot tier are one module).
std::string ModuleOf(const std::string& path) {
  if (path == "lake" || path == "hot" || path == "history") return "history";
  return path;
}

// The consumer groups of a path that keeps one state for all partitions.
std::vector<std::string> OneStateGroups(const std::string& path) {
  // The lake, ops and sre groups share their partitions; the hot tier does not
  // (each replica has its own group).
  if (path == "lake" || path == "ops" || path == "sre") return {};
  if (path == "hot" || path == "history") return {HistoryServeOptions().hot_group};
  // Features on a shared store (Redis) keep a partial state per partition.
  if (path == "features" && features::FeaturesServeOptions().store == "redis") return {};
  return {path};
}

// A second process of a one-state path is refused at start: its group
// already has members (a `serve` or another `consume` running the path).
Status CheckAlone(const ServerConfig& config, const std::string& path) {
  const std::vector<std::string> groups = OneStateGroups(path);
  if (groups.empty()) return Status::OK();
  auto log = KafkaLog::Open(config.kafka);
  if (!log.ok()) return log.status();
  for (const std::string& group : groups) {
    auto members = (*log)->GroupMemberCount(group);
    if (!members.ok()) return members.status();
    if (*members > 0) {
      return Status::Aborted(
          "consumer group " + (*log)->KafkaGroup(group) + " already has " +
          std::to_string(*members) + " member(s): the " + path +
          " path is running elsewhere (a serve or another consume). It keeps one state for "
          "all partitions and runs as one process only; only --path ops, sre and lake (and "
          "features on Redis) run as several");
    }
  }
  return Status::OK();
}

int RunConsume(ServerConfig config, const std::string& path, const std::string& replica) {
  if (config.log_backend != "kafka") {
    spdlog::error("consume needs the Kafka log ([log] backend = \"kafka\" in --config): the "
                  "embedded log belongs to the one `serve` process that writes it");
    return 2;
  }
  if (!replica.empty()) {
    if (path != "hot") {
      spdlog::error("--replica is for --path hot (a replica of the hot tier)");
      return 2;
    }
    HistoryServeOptions().hot_group = "hot-" + replica;
  }
  config.collector_enabled = false;
  config.paths = {ModuleOf(path)};
  // lake and hot are one module; --path lake|hot runs only that path's
  // consumer (the lake's processes share the partitions, the hot tier's
  // one process is checked below).
  HistoryServeOptions().run_lake = path != "hot";
  HistoryServeOptions().run_hot = path != "lake";
  if (Status alone = CheckAlone(config, path); !alone.ok()) {
    spdlog::error("consume --path {}: {}", path, alone.ToString());
    return 2;
  }
  if (path == "ops") {
    if (config.port == 0) {
      spdlog::error("consume --path ops needs a fixed --listen port: the other processes of "
                    "the ops group read this one's counts there");
      return 2;
    }
    ops::OpsGroupOptions& g = ops::OpsGroupServeOptions();
    g.enabled = true;
    if (g.advertise_url.empty()) {
      g.advertise_url = "http://" + config.host + ":" + std::to_string(config.port);
    }
  }
  if (path == "sre") {
    if (config.port == 0) {
      spdlog::error("consume --path sre needs a fixed --listen port: the other processes of "
                    "the sre group read this one's partitions there");
      return 2;
    }
    // The group's store is the ops group's ([ops] state_uri), under sre/.
    sre::SreGroupOptions& g = sre::SreGroupServeOptions();
    g.enabled = true;
    g.state_store = ops::OpsGroupServeOptions().state_store;
    g.state_dir = ops::OpsGroupServeOptions().state_dir;
    g.advertise_url = ops::OpsGroupServeOptions().advertise_url;
    if (g.advertise_url.empty()) {
      g.advertise_url = "http://" + config.host + ":" + std::to_string(config.port);
    }
  }
  sigset_t signals = BlockStopSignals();
  PipelineServer server(config);
  Status st = server.Start();
  if (!st.ok()) {
    spdlog::error("cannot start: {}", st.ToString());
    return 1;
  }
  spdlog::info("viewpipe consume --path {}: listening on {} (data in {})", path, server.url(),
               config.data_dir);
  int sig = 0;
  sigwait(&signals, &sig);
  spdlog::info("signal {}: stopping", sig);
  server.Stop();
  return 0;
}

}  // namespace

void AddConsumeCommand(CLI::App& app, std::function<int()>* run) {
  auto config = std::make_shared<ServerConfig>();
  auto path = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand("consume", "Run one consumer path as its own process (Kafka)");
  cmd->add_option("--path", *path,
                  "The path: ops, sre, features (several processes; features on the Redis store), "
                  "lake or hot "
                  "(lake and hot run together)")
      ->required()
      ->check(CLI::IsMember({"ops", "sre", "features", "lake", "hot", "history"}));
  cmd->add_option("--data-dir", config->data_dir, "Directory for the path's local state")
      ->capture_default_str();
  cmd->add_option_function<std::string>(
      "--listen",
      [c = config.get()](const std::string& v) {
        size_t colon = v.rfind(':');
        if (colon == std::string::npos) throw CLI::ValidationError("--listen", "HOST:PORT");
        c->host = v.substr(0, colon);
        c->port = std::stoi(v.substr(colon + 1));
      },
      "HOST:PORT for the path's routes and /metrics");
  auto replica = std::make_shared<std::string>();
  cmd->add_option("--replica", *replica,
                  "With --path hot: this process is replica NAME of the hot tier, with its own "
                  "consumer group (hot-NAME) and DuckDB file, loading every partition")
      ->check([](const std::string& v) {
        bool ok = !v.empty() && v.size() <= 32 &&
                  v.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-") == std::string::npos;
        return ok ? std::string() : std::string("a-z, 0-9 and '-', up to 32");
      });
  AddConfigFlag(cmd, config.get());
  cmd->callback([config, path, replica, run] {
    *run = [config, path, replica] { return RunConsume(*config, *path, *replica); };
  });
}

}  // namespace viewpipe::tools
