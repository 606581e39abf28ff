#include "sregroup/sre_group_routes.h"

#include <httplib.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>

#include "api/json_error.h"
#include "common/json_writer.h"
#include "sregroup/group_detector.h"

namespace viewpipe::sre {
namespace {

constexpr int64_t kDefaultWindowS = 300;
constexpr auto kBookTtl = std::chrono::milliseconds(500);

// As sre_routes.cc's (the same parameters and errors).
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

bool DimParam(const httplib::Request& req, std::optional<QoeDim>* out, std::string* why) {
  if (!req.has_param("by")) return true;
  const std::string v = req.get_param_value("by");
  *out = ParseQoeDim(v);
  if (*out) return true;
  *why = "unknown by '" + v + "': one of cdn, country, isp, device_type, title_id, cdn_country";
  return false;
}

std::string Auth(const httplib::Request& req) {
  if (req.has_header("Authorization")) return req.get_header_value("Authorization");
  if (req.has_param("access_token")) return "Bearer " + req.get_param_value("access_token");
  return "";
}

void Unavailable(httplib::Response& res, const std::string& why) {
  res.set_header("Retry-After", "1");
  SendJsonError(res, 503, why);
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

SreGroupRoutes::SreGroupRoutes(SreShards* shards, MergedQoe* merged, ObjectStore* store, Env* env,
                               std::string scratch_dir, const SreOptions& options)
    : shards_(shards),
      merged_(merged),
      store_(store),
      env_(env),
      scratch_dir_(std::move(scratch_dir)),
      options_(options) {}

void SreGroupRoutes::Register(httplib::Server* server) {
  server->Get("/v1/sre/partials", [this](const httplib::Request& req, httplib::Response& res) {
    GetPartials(req, res);
  });
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

void SreGroupRoutes::GetPartials(const httplib::Request& req, httplib::Response& res) const {
  std::map<std::string, std::string> params;
  for (const auto& [k, v] : req.params) params[k] = v;
  PartialQuery q;
  Status st = ParsePartialQuery(params, &q);
  if (!st.ok()) return SendJsonError(res, 400, st.ToString());
  res.set_content(EncodePartials(shards_->Report(q)), "application/octet-stream");
}

void SreGroupRoutes::GetQoe(const httplib::Request& req, httplib::Response& res) const {
  std::string why;
  std::optional<QoeDim> dim;
  int64_t window = kDefaultWindowS;
  if (!DimParam(req, &dim, &why) ||
      !IntParam(req, "window", 10, options_.keep_5m_ms / 1000, &window, &why)) {
    return SendJsonError(res, 400, why);
  }
  MergedQoeReading m = merged_->Qoe(dim, window * 1000, Auth(req));
  if (m.status != 200) return Unavailable(res, m.error);
  const QoeReading& r = m.reading;
  std::string body = "{\"as_of\":";
  AppendJsonInt(&body, r.as_of);
  body += ",\"from\":";
  AppendJsonInt(&body, r.from);
  body += ",\"window\":";
  AppendJsonInt(&body, window);
  body += ",\"step_ms\":";
  AppendJsonInt(&body, r.step_ms);
  if (dim) {
    body += ",\"by\":";
    AppendJsonString(&body, QoeDimName(*dim));
  }
  body += ",\"total\":{";
  AppendMetricsJson(r.total, &body);
  body += "},";
  AppendGroups(r.groups, &body);
  body += '}';
  res.set_content(body, "application/json");
}

void SreGroupRoutes::GetSeries(const httplib::Request& req, httplib::Response& res) const {
  std::string why;
  std::optional<QoeDim> dim;
  int64_t step = 10, range = 1800;
  if (!DimParam(req, &dim, &why) || !IntParam(req, "step", 10, 300, &step, &why) ||
      !IntParam(req, "range", 10, options_.keep_5m_ms / 1000, &range, &why)) {
    return SendJsonError(res, 400, why);
  }
  if (dim && !req.has_param("key")) return SendJsonError(res, 400, "key is required with by");
  GroupKey g{dim.value_or(QoeDim::kTotal), dim ? req.get_param_value("key") : ""};
  const int64_t step_ms = step <= 10 ? 10000 : step <= 60 ? 60000 : 300000;
  auto points = merged_->Series(g, step_ms, range * 1000, Auth(req), &why);
  if (!points) return Unavailable(res, why);
  std::string body = "{\"step_ms\":";
  AppendJsonInt(&body, step_ms);
  body += ",\"points\":[";
  bool first = true;
  for (const auto& [at, c] : *points) {
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

std::shared_ptr<const AlertBook> SreGroupRoutes::StoredBook(std::string* why) {
  std::lock_guard<std::mutex> lock(mu_);
  const auto now = std::chrono::steady_clock::now();
  if (book_ != nullptr && now - book_at_ < kBookTtl) return book_;
  auto data = store_->Get(GroupDetector::kAlertsKey);
  if (!data.ok() && !data.status().IsNotFound()) {
    *why = "the alert book cannot be read from the group's store: " + data.status().ToString();
    return nullptr;
  }
  auto book = std::make_shared<AlertBook>(env_, "");
  if (data.ok()) {
    const std::string path = JoinPath(scratch_dir_, "alerts-read-" + std::to_string(::getpid()));
    Status st = env_->CreateDirs(scratch_dir_);
    if (st.ok()) st = env_->WriteFileAtomic(path, *data);
    if (st.ok()) {
      book = std::make_shared<AlertBook>(env_, path);
      st = book->Load();
    }
    if (!st.ok()) {
      *why = "the stored alert book: " + st.ToString();
      return nullptr;
    }
  }
  book_ = book;
  book_at_ = now;
  return book_;
}

void SreGroupRoutes::GetAlerts(const httplib::Request& req, httplib::Response& res) {
  std::string why;
  const std::string state = req.has_param("state") ? req.get_param_value("state") : "open";
  if (state != "open" && state != "all") {
    return SendJsonError(res, 400, "state must be open or all, got '" + state + "'");
  }
  int64_t since = 0;
  if (!IntParam(req, "since", 0, INT64_MAX, &since, &why)) return SendJsonError(res, 400, why);
  std::shared_ptr<const AlertBook> book = StoredBook(&why);
  if (book == nullptr) return Unavailable(res, why);
  std::string body = "{\"alerts\":[";
  bool first = true;
  for (const Alert& a : book->List(state == "open", since)) {
    if (!first) body += ',';
    first = false;
    AppendAlertJson(a, &body);
  }
  body += "]}";
  res.set_content(body, "application/json");
}

}  // namespace viewpipe::sre
