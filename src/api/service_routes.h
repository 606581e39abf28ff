#pragma once
// Service endpoints every viewpipe server has: /healthz (alive), /readyz
// (ready to accept events), /metrics (Prometheus text).

#include <atomic>

namespace httplib {
class Server;
}

namespace viewpipe {

class MetricsRegistry;

struct ServiceState {
  std::atomic<bool> ready{false};  // set once recovery is done and the log is writable
};

// state and metrics must outlive server.
void RegisterServiceRoutes(httplib::Server* server, const ServiceState* state,
                           const MetricsRegistry* metrics);

}  // namespace viewpipe
