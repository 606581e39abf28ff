#include "sre/sre_routes.h"

#include <httplib.h>

#include <algorithm>
#include <charconv>
#include <optional>
#include <vector>

#include "api/json_error.h"
#include "common/json_writer.h"

namespace viewpipe::sre {
namespace {

constexpr int64_t kDefaultWindowS = 300;

bool IntParam(const httplib::Request& req, const char* name, int64_t min, int64_t max,
              int64_t* out, std::string* why) {
  if (!req.has_param(name)) return true;
  const std::string v = req.get_param_value(name);
  int64_t n = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (v.empty() || ec != std::errc() || p != v.data() + v.size()) {
    *why = std::string(name) + " must be an integer, got '" + v + "'";
    return false;
  }
  if (n < min || n > max) {
    *why = std::string(name) + " must be in [" + std::to_string(min) + ", " +
           std::to_string(max) + "], got " + v;
    return false;
  }
  *out = n;
  return true;
}

bool DimParam(const httplib::Request& req, bool required, std::optional<QoeDim>* out,
              std::string* why) {
  if (!req.has_param("by")) {
    if (required) *why = "by is required";
    return !required;
  }
  const std::string v = req.get_param_value("by");
  *out = ParseQoeDim(v);
  if (*out) return true;
  *why = "unknown by '" + v + "': one of cdn, country, isp, device_type, title_id, cdn_country";
  return false;
}

void NoDataYet(httplib::Response& res) {
  res.set_header("Retry-After", "1");
  SendJsonError(res, 503, "no closed QoE window yet");
}

void AppendGroups(const std::map<std::string, QoeCounts>& groups, std::string* body) {
  std::vector<const std::pair<const std::string, QoeCounts>*> order;
  for (const auto& g : groups) order.push_back(&g);
  std::stable_sort(order.begin(), order.end(),
                   [](auto* a, auto* b) { return a->second.attempts > b->second.attempts; });
  *body += "\"groups\":[";
  for (size_t i = 0; i < order.size(); ++i) {
    if (i > 0) *body += ',';
    *body += "{\"key\":";
    AppendJsonString(body, order[i]->first);
    *body += ',';
    AppendMetricsJson(order[i]->second, body);
    *body += '}';
  }
  *body += ']';
}

}  // namespace

void SreRoutes::Register(httplib::Server* server) {
  server->Get("/v1/sre/qoe", [this](const httplib::Request& req, httplib::Response& res) {
    GetQoe(req, res);
  });
  server->Get("/v1/sre/qoe/series", [this](const httplib::Request& req, httplib::Response& res) {
    GetSeries(req, res);
  });
  server->Get("/v1/sre/alerts", [this](const httplib::Request& req, httplib::Response& res) {
    GetAlerts(req, res);
  });
}

void SreRoutes::GetQoe(const httplib::Request& req, httplib::Response& res) const {
  std::string why;
  std::optional<QoeDim> dim;
  int64_t window = kDefaultWindowS;
  if (!DimParam(req, false, &dim, &why) ||
      !IntParam(req, "window", 10, state_->options().keep_5m_ms / 1000, &window, &why)) {
    return SendJsonError(res, 400, why);
  }
  auto r = state_->Read(dim, window * 1000);
  if (!r) return NoDataYet(res);
  std::string body = "{\"as_of\":";
  AppendJsonInt(&body, r->as_of);
  body += ",\"from\":";
  AppendJsonInt(&body, r->from);
  body += ",\"window\":";
  AppendJsonInt(&body, window);
  body += ",\"step_ms\":";
  AppendJsonInt(&body, r->step_ms);
  if (dim) {
    body += ",\"by\":";
    AppendJsonString(&body, QoeDimName(*dim));
  }
  body += ",\"total\":{";
  AppendMetricsJson(r->total, &body);
  body += "},";
  AppendGroups(r->groups, &body);
  body += '}';
  res.set_content(body, "application/json");
}

void SreRoutes::GetSeries(const httplib::Request& req, httplib::Response& res) const {
  std::string why;
  std::optional<QoeDim> dim;
  int64_t step = 10, range = 1800;
  if (!DimParam(req, false, &dim, &why) || !IntParam(req, "step", 10, 300, &step, &why) ||
      !IntParam(req, "range", 10, state_->options().keep_5m_ms / 1000, &range, &why)) {
    return SendJsonError(res, 400, why);
  }
  if (dim && !req.has_param("key")) return SendJsonError(res, 400, "key is required with by");
  GroupKey g{dim.value_or(QoeDim::kTotal), dim ? req.get_param_value("key") : ""};
  const int64_t step_ms = step <= 10 ? 10000 : step <= 60 ? 60000 : 300000;
  std::string body = "{\"step_ms\":";
  AppendJsonInt(&body, step_ms);
  body += ",\"points\":[";
  bool first = true;
  for (const auto& [at, c] : state_->Series(g, step_ms, range * 1000)) {
    if (!first) body += ',';
    first = false;
    body += "{\"at\":";
    AppendJsonInt(&body, at);
    body += ',';
    AppendMetricsJson(c, &body);
    body += '}';
  }
  body += "]}";
  res.set_content(body, "application/json");
}

void SreRoutes::GetAlerts(const httplib::Request& req, httplib::Response& res) const {
  std::string why;
  const std::string state = req.has_param("state") ? req.get_param_value("state") : "open";
  if (state != "open" && state != "all") {
    return SendJsonError(res, 400, "state must be open or all, got '" + state + "'");
  }
  int64_t since = 0;
  if (!IntParam(req, "since", 0, INT64_MAX, &since, &why)) return SendJsonError(res, 400, why);
  std::string body = "{\"alerts\":[";
  bool first = true;
  for (const Alert& a : book_->List(state == "open", since)) {
    if (!first) body += ',';
    first = false;
    AppendAlertJson(a, &body);
  }
  body += "]}";
  res.set_content(body, "application/json");
}

}  // namespace viewpipe::sre
