#include "api/service_routes.h"

#include <httplib.h>

#include "common/metrics.h"

namespace viewpipe {

void RegisterServiceRoutes(httplib::Server* server, const ServiceState* state,
                           const MetricsRegistry* metrics) {
  server->Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("{\"status\":\"ok\"}", "application/json");
  });
  server->Get("/readyz", [state](const httplib::Request&, httplib::Response& res) {
    bool ready = state->ready.load();
    res.status = ready ? 200 : 503;
    res.set_content(ready ? "{\"ready\":true}" : "{\"ready\":false}", "application/json");
  });
  server->Get("/metrics", [metrics](const httplib::Request&, httplib::Response& res) {
    res.set_content(metrics->RenderPrometheus(), "text/plain; version=0.0.4");
  });
}

}  // namespace viewpipe
