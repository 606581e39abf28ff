#include "experiments/experiment_routes.h"

#include <httplib.h>

#include <charconv>

#include "api/json_error.h"

namespace viewpipe::experiments {
namespace {

Status ParseMs(const httplib::Request& req, const char* name, std::optional<int64_t>* out) {
  if (!req.has_param(name)) return Status::OK();
  const std::string v = req.get_param_value(name);
  int64_t ms = 0;
  auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), ms);
  if (v.empty() || ec != std::errc() || ptr != v.data() + v.size()) {
    return Status::InvalidArgument(std::string(name) + ": '" + v + "' is not ms since the epoch");
  }
  *out = ms;
  return Status::OK();
}

Result<ReportRequest> ParseRequest(const httplib::Request& req) {
  ReportRequest r;
  r.exp_id = req.matches[1];
  VP_RETURN_IF_ERROR(ParseMs(req, "from", &r.from_ms));
  VP_RETURN_IF_ERROR(ParseMs(req, "to", &r.to_ms));
  const std::string tier = req.get_param_value("tier");
  if (tier == "cold") {
    r.tier = ReportTier::kCold;
  } else if (!tier.empty() && tier != "hot") {
    return Status::InvalidArgument("tier: 'hot' or 'cold'");
  }
  const std::string source = req.get_param_value("source");
  if (source == "events") {
    r.from_events = true;
  } else if (!source.empty() && source != "sessions") {
    return Status::InvalidArgument("source: 'sessions' or 'events'");
  }
  r.options.control = req.get_param_value("control");
  if (req.has_param("split")) {
    auto split = ParseSplit(req.get_param_value("split"));
    if (!split.ok()) return split.status();
    r.options.split = *split;
  }
  return r;
}

// Runs fn(service, request) and answers its body, or the error.
void Answer(const std::function<ExperimentService*()>& service, const httplib::Request& req,
            httplib::Response& res,
            const std::function<Result<std::string>(ExperimentService*, const ReportRequest&)>& fn,
            const char* content_type) {
  ExperimentService* s = service();
  if (s == nullptr) return SendJsonError(res, 503, "experiments need the history (hot tier)");
  auto parsed = ParseRequest(req);
  if (!parsed.ok()) return SendJsonError(res, 400, parsed.status().message());
  auto body = fn(s, *parsed);
  if (!body.ok()) return SendJsonError(res, HttpStatusOf(body.status()), body.status().message());
  res.set_content(*body, content_type);
}

}  // namespace

int HttpStatusOf(const Status& st) {
  switch (st.code()) {
    case Status::Code::kNotFound: return 404;
    case Status::Code::kInvalidArgument: return 400;
    case Status::Code::kUnavailable: return 503;
    default: return 500;
  }
}

void RegisterExperimentRoutes(httplib::Server* server,
                              std::function<ExperimentService*()> service) {
  server->Get("/v1/experiments", [service](const httplib::Request&, httplib::Response& res) {
    ExperimentService* s = service();
    if (s == nullptr) return SendJsonError(res, 503, "experiments need the history (hot tier)");
    auto json = s->ListJson();
    if (!json.ok()) return SendJsonError(res, HttpStatusOf(json.status()), json.status().message());
    res.set_content(*json, "application/json");
  });
  server->Get(R"(/v1/experiments/([^/]+)/report)",
              [service](const httplib::Request& req, httplib::Response& res) {
                Answer(service, req, res, [](ExperimentService* s, const ReportRequest& r)
                           -> Result<std::string> {
                  auto report = s->Report(r);
                  if (!report.ok()) return report.status();
                  return report->ToJson();
                }, "application/json");
              });
  server->Get(R"(/v1/experiments/([^/]+)/users)",
              [service](const httplib::Request& req, httplib::Response& res) {
                Answer(service, req, res, [](ExperimentService* s, const ReportRequest& r) {
                  return s->UsersCsv(r);
                }, "text/csv");
              });
}

}  // namespace viewpipe::experiments
