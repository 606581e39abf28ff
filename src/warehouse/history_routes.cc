#include "warehouse/history_routes.h"

#include <httplib.h>
#include <simdjson.h>

#include "api/json_error.h"
#include "common/json_writer.h"

namespace viewpipe {
namespace {

void JsonError(httplib::Response& res, int status, std::string_view message) {
  SendJsonError(res, status, message);
}

}  // namespace

Result<QueryRequest> ParseQueryRequest(std::string_view body) {
  simdjson::dom::parser parser;
  simdjson::padded_string padded(body);
  simdjson::dom::element doc;
  if (parser.parse(padded).get(doc) || !doc.is_object()) {
    return Status::InvalidArgument("the body must be a JSON object {\"sql\": \"SELECT ...\"}");
  }
  QueryRequest req;
  std::string_view sql;
  if (doc["sql"].get_string().get(sql)) {
    return Status::InvalidArgument("field 'sql' (a string) is required");
  }
  req.sql = std::string(sql);
  std::string_view tier = "auto";
  auto t = doc["tier"];
  if (t.error() != simdjson::NO_SUCH_FIELD && t.get_string().get(tier)) {
    return Status::InvalidArgument("field 'tier' must be a string");
  }
  if (tier == "hot") {
    req.tier = TierChoice::kHot;
  } else if (tier == "cold") {
    req.tier = TierChoice::kCold;
  } else if (tier != "auto") {
    return Status::InvalidArgument("field 'tier' must be auto, hot or cold");
  }
  return req;
}

int QueryErrorStatus(const Status& st) {
  switch (st.code()) {
    case Status::Code::kInvalidArgument: return 400;
    case Status::Code::kAborted: return 504;
    case Status::Code::kUnavailable: return 503;
    default: return 500;
  }
}

void RegisterHistoryRoutes(httplib::Server* server, HistoryRoutes routes) {
  QueryRouter* router = routes.router;
  server->Post("/v1/query", [router](const httplib::Request& req, httplib::Response& res) {
    auto request = ParseQueryRequest(req.body);
    if (!request.ok()) return JsonError(res, 400, request.status().message());
    auto answer = router->Run(*request);
    if (!answer.ok()) {
      return JsonError(res, QueryErrorStatus(answer.status()), answer.status().message());
    }
    res.set_content(answer->ToJson(), "application/json");
  });
  auto cost = routes.cost_json;
  server->Get("/v1/cost", [cost](const httplib::Request&, httplib::Response& res) {
    auto json = cost();
    if (!json.ok()) return JsonError(res, 500, json.status().ToString());
    res.set_content(*json, "application/json");
  });
  auto lake = routes.lake_json;
  server->Get("/v1/lake", [lake](const httplib::Request& req, httplib::Response& res) {
    size_t days = 14;
    if (req.has_param("days")) days = std::strtoul(req.get_param_value("days").c_str(), nullptr, 10);
    auto json = lake(days);
    if (!json.ok()) return JsonError(res, 500, json.status().ToString());
    res.set_content(*json, "application/json");
  });
}

}  // namespace viewpipe
