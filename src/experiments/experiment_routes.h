#pragma once
// The experiment endpoints of `viewpipe serve` (api.md, "A/B experiments"):
//   GET /v1/experiments                      experiments seen in the hot tier
//   GET /v1/experiments/<id>/report?from=&to=[&tier=cold][&control=][&split=50,50]
//   GET /v1/experiments/<id>/users?from=&to=  the per-user table (CSV), the
//       input of the report, for outside checks
// 404 {"error":..} for an unknown experiment, 400 for a bad request (from
// after to, outside the hot window without tier=cold, a bad split), 503
// when the history (hot tier) is off, 500 for storage trouble.

#include <functional>

#include "common/status.h"
#include "experiments/experiment_service.h"

namespace httplib {
class Server;
}

namespace viewpipe::experiments {

// Maps a Status to an HTTP status (404 / 400 / 503 / 500).
int HttpStatusOf(const Status& st);

// service() is called per request and may return null (history off): it
// and server must outlive the routes.
void RegisterExperimentRoutes(httplib::Server* server,
                              std::function<ExperimentService*()> service);

}  // namespace viewpipe::experiments
