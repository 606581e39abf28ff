#pragma once
// PipelineServer: everything `viewpipe serve` runs in one process — the
// durable log, the collector, the consumer paths and the HTTP API — with
// Start/Stop so `serve` and `demo` (and tests) assemble it the same way.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "ingest/collector.h"
#include "log/kafka_log.h"

namespace viewpipe::tools {

struct ServerConfig {
  std::string data_dir = "data";
  std::string host = "127.0.0.1";
  int port = 8080;  // 0: pick a free one
  int http_threads = 32;
  // The event-loop port (api/lookup_http_server.h, docs/fast_port.md):
  // POST /v1/events and the GET lookups; -1 off, 0 any free port.
  int fast_port = -1;
  int fast_threads = 2;        // its epoll loops
  int fast_body_threads = 64;  // its POST workers (each blocks until its fsync)
  // Its timeouts (ms; 0: none) and connection limit, as the main port's
  // cpp-httplib: 5 s keep-alive, 30 s read (for the whole request), 5 s write.
  int fast_idle_timeout_ms = 5000;
  int fast_read_timeout_ms = 30000;
  int fast_write_timeout_ms = 5000;
  int fast_max_connections = 4096;
  // Nice of the consumer paths' threads relative to the process: request
  // serving threads (lookups, the collector) win a core from them when both
  // want one; the paths still get what is left (common/thread_sched.h;
  // bench/README.md "Features", lookup tail).
  int pipeline_nice = 5;
  // The dashboard's static files (node_modules beside it); empty: found next
  // to the executable or in ./web (api/dashboard_module.h).
  std::string web_root;
  CollectorOptions collector;
  int log_partitions_viewing = 4;
  int log_partitions_qoe = 2;
  int64_t log_segment_bytes = 128LL << 20;
  int64_t log_retention_ms = 7LL * 24 * 3600 * 1000;
  int64_t log_retention_bytes = -1;
  int64_t log_page_cache_bytes = 64LL << 20;
  int64_t log_max_pending_bytes = 256LL << 20;
  int64_t log_min_free_bytes = 64LL << 20;
  // The consumer paths to run (module names, e.g. "ops", "history"); empty:
  // all of them; {"none"}: the collector and the dashboard only.
  std::vector<std::string> paths;
  // Read tokens for the read API (api/read_auth.h); empty: reads are open.
  std::vector<std::string> read_tokens;
  // The title catalog (api/server_module.h); empty: <data_dir>/catalog.csv.
  std::string catalog_path;
  // The log backend: "file" (FileLog under data_dir/log) or "kafka"
  // (serve --config, tools/scale_config.h).
  std::string log_backend = "file";
  KafkaLogOptions kafka;
  // `viewpipe consume`: no collector (and its paths in `paths`).
  bool collector_enabled = true;
};

class PipelineServer {
 public:
  explicit PipelineServer(ServerConfig config);
  ~PipelineServer();

  // Opens the log, recovers, binds the port and starts serving in
  // background threads. Returns once /readyz answers 200.
  Status Start();
  // Stops serving and closes everything (idempotent).
  void Stop();
  int port() const;
  int fast_port() const;  // 0 when off
  std::string url() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace viewpipe::tools
