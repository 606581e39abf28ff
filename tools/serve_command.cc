// viewpipe serve: the whole pipeline in one process until SIGINT/SIGTERM.

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <csignal>
#include <cstdlib>

#include "event/parser.h"
#include "tools/commands.h"
#include "tools/pipeline_server.h"
#include "tools/scale_config.h"

namespace viewpipe::tools {
namespace {

int RunServe(ServerConfig config) {
  if (config.collector.write_keys.empty()) {
    spdlog::error("no write key configured: pass --write-key KEY (or set VIEWPIPE_WRITE_KEYS)");
    return 2;
  }
  sigset_t signals = BlockStopSignals();
  PipelineServer server(config);
  Status st = server.Start();
  if (!st.ok()) {
    spdlog::error("cannot start: {}", st.ToString());
    return 1;
  }
  spdlog::info("viewpipe listening on {} (data in {}; JSON parsing for {})", server.url(),
               config.data_dir, JsonParserKernel());
  int sig = 0;
  sigwait(&signals, &sig);
  spdlog::info("signal {}: stopping", sig);
  server.Stop();
  spdlog::info("stopped cleanly");
  return 0;
}

}  // namespace

sigset_t BlockStopSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return set;
}

// Adds the flags shared by serve and demo.
void AddServerFlags(CLI::App* cmd, ServerConfig* c) {
  cmd->add_option("--data-dir", c->data_dir, "Directory for the log and all state")
      ->capture_default_str();
  cmd->add_option("--host", c->host, "Address to listen on")->capture_default_str();
  cmd->add_option("--port", c->port, "Port to listen on (0: any free port)")
      ->capture_default_str();
  cmd->add_option_function<std::string>(
         "--listen",
         [c](const std::string& v) {
           size_t colon = v.rfind(':');
           if (colon == std::string::npos) throw CLI::ValidationError("--listen", "HOST:PORT");
           c->host = v.substr(0, colon);
           c->port = std::stoi(v.substr(colon + 1));
         },
         "HOST:PORT to listen on (sets --host and --port)");
  cmd->add_option("--write-key", c->collector.write_keys,
                  "Write key accepted as 'Authorization: Bearer KEY' (repeatable)")
      ->envname("VIEWPIPE_WRITE_KEYS")
      ->delimiter(',');
  cmd->add_option("--web-root", c->web_root,
                  "Directory of the dashboard's files (default: <exe dir>/../../web, else ./web)");
  cmd->add_option("--read-token", c->read_tokens,
                  "Token the read API requires as 'Authorization: Bearer TOKEN' (repeatable; "
                  "none: reads are open)")
      ->envname("VIEWPIPE_READ_TOKENS")
      ->delimiter(',');
  cmd->add_option("--catalog", c->catalog_path,
                  "Title catalog CSV (title_id,genre,kind,duration_s) for features and batch "
                  "(default: <data-dir>/catalog.csv, reloaded when it changes)");
  cmd->add_option("--paths", c->paths,
                  "Consumer paths to run, comma separated (default: all; 'none': collector only)")
      ->delimiter(',');
  cmd->add_option("--http-threads", c->http_threads, "HTTP worker threads")
      ->capture_default_str();
  cmd->add_option("--fast-port", c->fast_port,
                  "Also serve POST /v1/events and the GET feature lookups on this port from an "
                  "event-loop server (docs/fast_port.md; 0: any free port; -1: off)")
      ->capture_default_str();
  cmd->add_option("--fast-threads", c->fast_threads, "Event loops of the fast port")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  cmd->add_option("--fast-body-threads", c->fast_body_threads,
                  "POST workers of the fast port (each waits for its fsync)")
      ->capture_default_str()
      ->check(CLI::Range(1, 256));
  cmd->add_option("--fast-idle-timeout-ms", c->fast_idle_timeout_ms,
                  "Fast port: close a keep-alive connection idle this long (0: never)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--fast-read-timeout-ms", c->fast_read_timeout_ms,
                  "Fast port: a request's head and body must arrive within this of its first "
                  "byte, else 408 and close (0: no limit)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--fast-write-timeout-ms", c->fast_write_timeout_ms,
                  "Fast port: close a connection whose client reads no answer this long")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--fast-max-connections", c->fast_max_connections,
                  "Fast port: connections over this are closed at accept")
      ->capture_default_str()
      ->check(CLI::Range(1, 1 << 20));
  cmd->add_option("--pipeline-nice", c->pipeline_nice,
                  "Nice of the consumer paths' threads relative to the process (request "
                  "serving threads then win a core from them)")
      ->capture_default_str()
      ->check(CLI::Range(0, 39));
  cmd->add_option("--max-events", c->collector.limits.max_events, "Events per request")
      ->capture_default_str();
  cmd->add_option("--max-event-bytes", c->collector.limits.max_event_bytes, "Bytes per event")
      ->capture_default_str();
  cmd->add_option("--max-body-bytes", c->collector.max_body_bytes,
                  "Request body bytes after decompression")
      ->capture_default_str();
  cmd->add_option("--dedup-window-ms", c->collector.dedup_window_ms,
                  "How long accepted event_ids are remembered for dedup")
      ->capture_default_str();
  cmd->add_option("--dedup-max-bytes", c->collector.dedup_max_bytes,
                  "Memory bound of the dedup index (0: a quarter of the machine's memory; -1: "
                  "none); over it the oldest ids are forgotten first")
      ->capture_default_str();
  cmd->add_option("--log-max-pending-bytes", c->log_max_pending_bytes,
                  "Bytes waiting for fsync before the collector answers 503")
      ->capture_default_str();
  cmd->add_option("--log-min-free-bytes", c->log_min_free_bytes,
                  "Free disk space below which the collector answers 503")
      ->capture_default_str();
  cmd->add_option("--log-retention-ms", c->log_retention_ms, "Log retention by age (-1: off)")
      ->capture_default_str();
  cmd->add_option("--log-retention-bytes", c->log_retention_bytes,
                  "Log retention by size per partition (-1: off)")
      ->capture_default_str();
  cmd->add_option("--log-page-cache-bytes", c->log_page_cache_bytes,
                  "Page cache the log keeps per partition behind its write head; older durable "
                  "bytes are dropped from it after each fsync (consumers further behind read "
                  "the disk; 0: the kernel decides)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
}

void AddServeCommand(CLI::App& app, std::function<int()>* run) {
  auto config = std::make_shared<ServerConfig>();
  CLI::App* cmd = app.add_subcommand("serve", "Run the pipeline: collector, log and API");
  AddServerFlags(cmd, config.get());
  AddConfigFlag(cmd, config.get());  // backends at scale: docs/scale.md
  cmd->callback([config, run] { *run = [config] { return RunServe(*config); }; });
}

}  // namespace viewpipe::tools
