#pragma once
// The history endpoints of `viewpipe serve`:
//   POST /v1/query  {"sql":"SELECT ...","tier":"auto|hot|cold"}  (api.md)
//       200 QueryAnswer::ToJson(); 400 {"error":..} for refused or failing
//       SQL; 504 on timeout; 500 on storage trouble
//   GET  /v1/cost   the cost report (cost_report.h)
//   GET  /v1/lake?days=N  the lake's state (lake_reader.h, LakeStatusJson)

#include <functional>
#include <string>
#include <string_view>

#include "common/status.h"
#include "warehouse/query_router.h"

namespace httplib {
class Server;
}

namespace viewpipe {

struct HistoryRoutes {
  QueryRouter* router = nullptr;
  std::function<Result<std::string>()> cost_json;
  std::function<Result<std::string>(size_t recent_days)> lake_json;
};

// Parses a /v1/query body.
Result<QueryRequest> ParseQueryRequest(std::string_view body);
// The HTTP status for a failed query.
int QueryErrorStatus(const Status& st);

// routes' pointers and functions must outlive server.
void RegisterHistoryRoutes(httplib::Server* server, HistoryRoutes routes);

}  // namespace viewpipe
