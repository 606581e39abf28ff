#pragma once
// ServerModule: one part of `viewpipe serve` (a consumer path with its
// routes, the dashboard, ...). PipelineServer starts the modules in order
// after the log is open and recovered, and stops them in reverse order.

#include <string>
#include <vector>

#include "common/clock.h"
#include "common/metrics.h"
#include "common/status.h"
#include "log/log.h"

namespace httplib {
class Server;
}

namespace viewpipe {

class LookupHttpServer;

struct ModuleContext {
  Log* log = nullptr;
  MetricsRegistry* metrics = nullptr;
  httplib::Server* http = nullptr;  // register routes here (before serving starts)
  Clock* clock = nullptr;
  std::string data_dir;  // each module keeps its state under data_dir/<module name>
  std::string web_root;  // static files of the dashboard
  // The title catalog (CSV title_id,genre,kind,duration_s; the simulator
  // writes one): features and batch read genres and durations from it. It
  // may not exist (yet): readers fall back to genre "unknown".
  std::string catalog_path;
  // The main server's host and read tokens (read_auth.h), for a module that
  // listens on a port of its own (the features' lookup port).
  std::string host = "127.0.0.1";
  std::vector<std::string> read_tokens;
  // The event-loop port (`serve --fast-port`, lookup_http_server.h), or
  // nullptr: a module may add its GET lookups there (before serving starts).
  LookupHttpServer* fast_http = nullptr;
};

class ServerModule {
 public:
  virtual ~ServerModule() = default;
  virtual std::string name() const = 0;
  // Registers routes and starts background work. Called once.
  virtual Status Start(const ModuleContext& ctx) = 0;
  // Stops background work, persisting what must survive. Idempotent.
  virtual void Stop() = 0;
};

}  // namespace viewpipe
