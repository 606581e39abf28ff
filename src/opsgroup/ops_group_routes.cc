#include "opsgroup/ops_group_routes.h"

#include <httplib.h>

#include <charconv>
#include <thread>

#include "api/json_error.h"
#include "common/json_writer.h"
#include "ops/ops_params.h"
#include "ops/time_math.h"

namespace viewpipe::ops {
namespace {

constexpr auto kStreamTick = std::chrono::milliseconds(1000);
constexpr auto kEventTtl = std::chrono::milliseconds(500);
constexpr size_t kStreamTop = 10;

bool DimensionParam(const httplib::Request& req, const char* name, std::optional<Dimension>* out,
                    std::string* why) {
  if (!req.has_param(name)) return true;
  const std::string v = req.get_param_value(name);
  *out = ParseDimension(v);
  if (*out) return true;
  *why = "unknown " + std::string(name) + " '" + v +
         "': one of title_id, country, device_type, cdn, live_event_id";
  return false;
}

// The caller's read token, forwarded to the other members.
std::string Auth(const httplib::Request& req) {
  if (req.has_header("Authorization")) return req.get_header_value("Authorization");
  if (req.has_param("access_token")) return "Bearer " + req.get_param_value("access_token");
  return "";
}

void SendFailure(const MergedAnswer& a, httplib::Response& res) {
  if (a.status == 503) res.set_header("Retry-After", "1");
  SendJsonError(res, a.status, a.error);
}

void AppendGroups(const GroupCounts& groups, size_t limit, std::string* out) {
  for (size_t i = 0; i < std::min(limit, groups.size()); ++i) {
    if (i > 0) out->push_back(',');
    *out += "{\"key\":";
    AppendJsonString(out, groups[i].first);
    *out += ",\"viewers\":";
    AppendJsonInt(out, groups[i].second);
    out->push_back('}');
  }
}

std::string ConcurrencyJson(const MergedAnswer& a, std::optional<Dimension> d,
                            std::optional<int64_t> top, bool live) {
  std::string body = "{\"as_of\":";
  AppendJsonInt(&body, a.second * 1000);
  body += ",\"total\":";
  AppendJsonInt(&body, a.total);
  if (d) {
    body += ",\"by\":";
    AppendJsonString(&body, DimensionName(*d));
    body += ",\"groups\":[";
    const GroupCounts& g = a.groups[Index(*d)];
    AppendGroups(g, top ? static_cast<size_t>(*top) : g.size(), &body);
    body += ']';
  }
  if (live) body += a.complete ? ",\"complete\":true" : ",\"complete\":false";
  body += '}';
  return body;
}

// Parses the partials parameters into *q; false with *why when bad.
bool PartialsParams(const httplib::Request& req, ReportQuery* q, std::string* why) {
  std::optional<int64_t> from, to, step;
  if (!IntParam(req, "second", INT64_MIN, &q->second, why) ||
      !IntParam(req, "from", INT64_MIN, &from, why) || !IntParam(req, "to", INT64_MIN, &to, why) ||
      !IntParam(req, "step", 1, &step, why) ||
      !DimensionParam(req, "series_by", &q->series_dim, why)) {
    return false;
  }
  const std::string dims = req.get_param_value("dims");
  size_t begin = 0;
  while (begin < dims.size()) {
    size_t end = dims.find(',', begin);
    if (end == std::string::npos) end = dims.size();
    auto d = ParseDimension(std::string_view(dims).substr(begin, end - begin));
    if (!d) {
      *why = "bad dims '" + dims + "'";
      return false;
    }
    q->dims.push_back(*d);
    begin = end + 1;
  }
  if (from && to) {
    q->series = true;
    q->from = *from;
    q->to = *to;
    q->step = step.value_or(1);
    q->key = req.get_param_value("key");
  }
  return true;
}

}  // namespace

struct OpsGroupRoutes::StreamClient {
  bool started = false;
  int64_t as_of = INT64_MIN;
  std::string auth;
  std::chrono::steady_clock::time_point last_write;
};

OpsGroupRoutes::OpsGroupRoutes(PartitionShards* shards, MergedReader* reader,
                               std::string instance, int max_stream_clients,
                               MetricsRegistry* metrics)
    : shards_(shards),
      reader_(reader),
      instance_(std::move(instance)),
      max_stream_clients_(max_stream_clients) {
  if (metrics != nullptr) {
    rejected_ = metrics->GetCounter("viewpipe_ops_stream_rejected_total",
                                    "GET /v1/ops/stream requests refused (too many clients)");
  }
}

void OpsGroupRoutes::RegisterPartials(httplib::Server* server) {
  server->Get("/v1/ops/partials", [this](const httplib::Request& req, httplib::Response& res) {
    ReportQuery q;
    std::string why;
    if (!PartialsParams(req, &q, &why)) return SendJsonError(res, 400, why);
    std::string body = "{\"instance\":";
    AppendJsonString(&body, instance_);
    body += ",\"partitions\":[";
    const std::vector<PartitionReport> reports = shards_->Report(q);
    for (size_t i = 0; i < reports.size(); ++i) {
      if (i > 0) body += ',';
      AppendReportJson(reports[i], &body);
    }
    body += "]}";
    res.set_content(body, "application/json");
  });
}

void OpsGroupRoutes::Register(httplib::Server* server) {
  RegisterPartials(server);
  server->Get("/v1/ops/concurrency", [this](const httplib::Request& req, httplib::Response& res) {
    std::optional<Dimension> d;
    std::optional<int64_t> top, at, live;
    std::string why;
    if (!DimensionParam(req, "by", &d, &why) || !IntParam(req, "top", 0, &top, &why) ||
        !IntParam(req, "at", INT64_MIN, &at, &why) || !IntParam(req, "live", 0, &live, &why)) {
      return SendJsonError(res, 400, why);
    }
    if (live && *live > 1) return SendJsonError(res, 400, "live must be 0 or 1");
    const bool is_live = live && *live == 1;
    if (is_live && at) return SendJsonError(res, 400, "live=1 and at exclude each other");
    const auto mode = is_live ? MergedReader::Mode::kLive
                      : at    ? MergedReader::Mode::kAt
                              : MergedReader::Mode::kNewest;
    std::vector<Dimension> dims;
    if (d) dims.push_back(*d);
    const MergedAnswer a = reader_->Counts(mode, at ? SecondOf(*at) : 0, dims, Auth(req));
    if (a.status != 200) return SendFailure(a, res);
    res.set_content(ConcurrencyJson(a, d, top, is_live), "application/json");
  });
  server->Get("/v1/ops/concurrency/series", [this](const httplib::Request& req,
                                                  httplib::Response& res) {
    std::optional<Dimension> d;
    std::optional<int64_t> from, to, step;
    std::string why;
    if (!DimensionParam(req, "by", &d, &why) || !IntParam(req, "from", INT64_MIN, &from, &why) ||
        !IntParam(req, "to", INT64_MIN, &to, &why) || !IntParam(req, "step", 1000, &step, &why)) {
      return SendJsonError(res, 400, why);
    }
    if (d && !req.has_param("key")) return SendJsonError(res, 400, "by needs a key");
    if (step && *step % 1000 != 0) {
      return SendJsonError(res, 400,
                           "step must be a whole number of seconds (a multiple of 1000 ms)");
    }
    if (from && to && *from > *to) return SendJsonError(res, 400, "from is after to");
    const MergedAnswer a = reader_->Series(
        d, req.get_param_value("key"), from ? std::optional(SecondOf(*from)) : std::nullopt,
        to ? std::optional(SecondOf(*to)) : std::nullopt, step ? *step / 1000 : 1, Auth(req));
    if (a.status != 200) return SendFailure(a, res);
    std::string body = "{\"from\":";
    AppendJsonInt(&body, a.from * 1000);
    body += ",\"to\":";
    AppendJsonInt(&body, a.to * 1000);
    body += ",\"step\":";
    AppendJsonInt(&body, (step ? *step / 1000 : 1) * 1000);
    body += ",\"points\":[";
    for (size_t i = 0; i < a.points.size(); ++i) {
      if (i > 0) body += ',';
      body += '[';
      AppendJsonInt(&body, a.points[i].first * 1000);
      body += ',';
      AppendJsonInt(&body, a.points[i].second);
      body += ']';
    }
    body += "]}";
    res.set_content(body, "application/json");
  });
  RegisterStream(server);
}

std::shared_ptr<const OpsGroupRoutes::StreamEvent> OpsGroupRoutes::NewestEvent(
    const std::string& auth) {
  std::lock_guard<std::mutex> lock(event_mu_);
  const auto now = std::chrono::steady_clock::now();
  if (event_ != nullptr && now - event_at_ < kEventTtl) return event_;
  const std::vector<Dimension> all(kAllDimensions.begin(), kAllDimensions.end());
  const MergedAnswer a = reader_->Counts(MergedReader::Mode::kNewest, 0, all, auth);
  auto ev = std::make_shared<StreamEvent>();
  if (a.status != 200) {
    ev->text = ": " + a.error + "\n\n";
  } else {
    ev->as_of = a.second;
    std::string& t = ev->text;
    t = "data: {\"as_of\":";
    AppendJsonInt(&t, a.second * 1000);
    t += ",\"total\":";
    AppendJsonInt(&t, a.total);
    t += ",\"top\":{";
    for (Dimension d : kAllDimensions) {
      if (d != Dimension::kTitle) t += ',';
      AppendJsonString(&t, DimensionName(d));
      t += ":[";
      AppendGroups(a.groups[Index(d)], kStreamTop, &t);
      t += ']';
    }
    t += "}}\n\n";
  }
  event_ = ev;
  event_at_ = now;
  return event_;
}

void OpsGroupRoutes::RegisterStream(httplib::Server* server) {
  server->Get("/v1/ops/stream", [this](const httplib::Request& req, httplib::Response& res) {
    if (stream_clients_.fetch_add(1) >= max_stream_clients_) {
      stream_clients_.fetch_sub(1);
      if (rejected_ != nullptr) rejected_->Inc();
      res.set_header("Retry-After", "5");
      return SendJsonError(res, 503, "too many stream clients (at most " +
                                         std::to_string(max_stream_clients_) + ")");
    }
    auto client = std::make_shared<StreamClient>();
    client->auth = Auth(req);
    res.set_header("Cache-Control", "no-cache");
    res.set_header("X-Accel-Buffering", "no");
    res.set_chunked_content_provider(
        "text/event-stream",
        [this, client](size_t, httplib::DataSink& sink) { return StreamStep(client.get(), sink); },
        [this](bool) { stream_clients_.fetch_sub(1); });
  });
}

// One turn of a stream client: the newest merged second when it is new, or
// again once a tick passed; the wait between turns is a quarter tick.
bool OpsGroupRoutes::StreamStep(StreamClient* client, httplib::DataSink& sink) {
  using Clock = std::chrono::steady_clock;
  if (stopping_) {
    sink.done();
    return true;
  }
  if (!client->started) {
    client->started = true;
    static constexpr std::string_view kRetry = "retry: 2000\n\n";
    if (!sink.write(kRetry.data(), kRetry.size())) return false;
  } else {
    std::this_thread::sleep_for(kStreamTick / 4);
  }
  std::shared_ptr<const StreamEvent> ev = NewestEvent(client->auth);
  const auto since = Clock::now() - client->last_write;
  if (ev->as_of == client->as_of && since < kStreamTick) return true;
  client->as_of = ev->as_of;
  client->last_write = Clock::now();
  return sink.write(ev->text.data(), ev->text.size());
}

}  // namespace viewpipe::ops
