#include "ops/ops_routes.h"

#include <httplib.h>

#include <algorithm>
#include <charconv>
#include <optional>
#include <thread>

#include "api/json_error.h"
#include "common/json_writer.h"
#include "ops/ops_query.h"
#include "ops/ops_params.h"
#include "ops/time_math.h"

namespace viewpipe::ops {
namespace {

constexpr auto kStreamTick = std::chrono::milliseconds(1000);
constexpr auto kStreamMinGap = std::chrono::milliseconds(200);
constexpr int64_t kDefaultSeriesSeconds = 3600;

void Error(httplib::Response& res, int status, const std::string& why) {
  SendJsonError(res, status, why);
}

void NoDataYet(httplib::Response& res) {
  res.set_header("Retry-After", "1");
  Error(res, 503, "no events yet: the ops path has not seen a viewing event");
}

// The `by` parameter: nullopt without it; false when it names no dimension.
bool DimensionParam(const httplib::Request& req, std::optional<Dimension>* out, std::string* why) {
  if (!req.has_param("by")) return true;
  const std::string v = req.get_param_value("by");
  *out = ParseDimension(v);
  if (*out) return true;
  *why = "unknown by '" + v + "': one of title_id, country, device_type, cdn, live_event_id";
  return false;
}

std::string RangeText(const SessionTracker& t) {
  return "[" + std::to_string(t.kept_begin() * 1000) + ", " + std::to_string(t.as_of() * 1000) +
         "]";
}

void AppendConcurrency(const SessionTracker& tracker, int64_t second, int64_t total,
                       std::optional<Dimension> d,
                       const std::vector<OpsSnapshot::Group>& groups, std::optional<int64_t> top,
                       std::string* body) {
  *body = "{\"as_of\":";
  AppendJsonInt(body, second * 1000);
  *body += ",\"total\":";
  AppendJsonInt(body, total);
  if (d) {
    *body += ",\"by\":";
    AppendJsonString(body, DimensionName(*d));
    *body += ",\"groups\":[";
    const size_t limit = top ? static_cast<size_t>(*top) : groups.size();
    AppendGroupsJson(tracker, *d, groups, limit, body);
    *body += ']';
  }
  *body += '}';
}

}  // namespace

// The running second (the watermark's): what the events so far say, before
// the second is complete. Marked "complete": false.
void OpsRoutes::LiveConcurrency(std::optional<Dimension> d, std::optional<int64_t> top,
                                httplib::Response& res) {
  std::string body;
  const bool has_time = state_->Read([&](const SessionTracker& t) {
    if (!t.has_time()) return false;
    const int64_t second = std::max(t.as_of(), FloorDiv(t.watermark(), 1000));
    int64_t total;
    std::vector<OpsSnapshot::Group> groups;
    CountsAt(t, second, d, &total, &groups);
    AppendConcurrency(t, second, total, d, groups, top, &body);
    body.pop_back();  // the closing brace
    body += second > t.as_of() ? ",\"complete\":false}" : ",\"complete\":true}";
    return true;
  });
  if (!has_time) return NoDataYet(res);
  res.set_content(body, "application/json");
}

struct OpsRoutes::StreamClient {
  bool started = false;
  uint64_t version = 0;
  int64_t as_of = INT64_MIN;
  std::chrono::steady_clock::time_point last_write;
};

OpsRoutes::OpsRoutes(OpsState* state, int max_stream_clients, MetricsRegistry* metrics)
    : state_(state), max_stream_clients_(max_stream_clients) {
  if (metrics != nullptr) {
    clients_gauge_ = metrics->GetGauge("viewpipe_ops_stream_clients",
                                       "Clients connected to GET /v1/ops/stream");
    rejected_ = metrics->GetCounter("viewpipe_ops_stream_rejected_total",
                                    "GET /v1/ops/stream requests refused (too many clients)");
  }
}

void OpsRoutes::Stop() {
  stopping_ = true;
  state_->Wake();
}

void OpsRoutes::Register(httplib::Server* server) {
  server->Get("/v1/ops/concurrency", [this](const httplib::Request& req, httplib::Response& res) {
    std::optional<Dimension> d;
    std::optional<int64_t> top, at, live;
    std::string why;
    if (!DimensionParam(req, &d, &why) || !IntParam(req, "top", 0, &top, &why) ||
        !IntParam(req, "at", INT64_MIN, &at, &why) || !IntParam(req, "live", 0, &live, &why)) {
      return Error(res, 400, why);
    }
    if (live && *live > 1) return Error(res, 400, "live must be 0 or 1");
    if (live && *live == 1 && at) return Error(res, 400, "live=1 and at exclude each other");
    std::string body;
    if (live && *live == 1) return LiveConcurrency(d, top, res);
    if (!at) {  // the newest complete second, from the published snapshot
      std::shared_ptr<const OpsSnapshot> snap = state_->Latest();
      if (snap == nullptr) return NoDataYet(res);
      const std::vector<OpsSnapshot::Group> none;
      // Names of published ids never change, so no lock is needed.
      AppendConcurrency(state_->owner_view(), snap->as_of, snap->total, d,
                        d ? snap->groups[Index(*d)] : none, top, &body);
      return res.set_content(body, "application/json");
    }
    const int64_t second = SecondOf(*at);
    int status = 200;
    state_->Read([&](const SessionTracker& t) {
      if (!t.has_time()) {
        status = 503;
        return;
      }
      if (second < t.kept_begin() || second > t.as_of()) {
        status = 400;
        why = "at " + std::to_string(*at) + " is outside the kept series " + RangeText(t) +
              " (complete seconds only)";
        return;
      }
      int64_t total;
      std::vector<OpsSnapshot::Group> groups;
      CountsAt(t, second, d, &total, &groups);
      AppendConcurrency(t, second, total, d, groups, top, &body);
    });
    if (status == 503) return NoDataYet(res);
    if (status == 400) return Error(res, 400, why);
    res.set_content(body, "application/json");
  });

  server->Get("/v1/ops/concurrency/series", [this](const httplib::Request& req,
                                                  httplib::Response& res) {
    std::optional<Dimension> d;
    std::optional<int64_t> from, to, step;
    std::string why;
    if (!DimensionParam(req, &d, &why) || !IntParam(req, "from", INT64_MIN, &from, &why) ||
        !IntParam(req, "to", INT64_MIN, &to, &why) || !IntParam(req, "step", 1000, &step, &why)) {
      return Error(res, 400, why);
    }
    if (d && !req.has_param("key")) return Error(res, 400, "by needs a key");
    if (step && *step % 1000 != 0) {
      return Error(res, 400, "step must be a whole number of seconds (a multiple of 1000 ms)");
    }
    if (from && to && *from > *to) return Error(res, 400, "from is after to");
    const std::string key = req.get_param_value("key");
    const int64_t step_s = step ? *step / 1000 : 1;
    int status = 200;
    std::string body;
    state_->Read([&](const SessionTracker& t) {
      if (!t.has_time()) {
        status = 503;
        return;
      }
      // The kept range clips the request; a range entirely outside it is an error.
      const int64_t last = to ? std::min(SecondOf(*to), t.as_of()) : t.as_of();
      const int64_t first = std::max(
          from ? SecondOf(*from) : last - kDefaultSeriesSeconds + 1, t.kept_begin());
      if (first > last) {
        status = 400;
        why = "the range is outside the kept series " + RangeText(t);
        return;
      }
      if ((last - first) / step_s + 1 > kMaxSeriesPoints) {
        status = 400;
        why = "too many points: at most " + std::to_string(kMaxSeriesPoints) +
              " (raise step or narrow from/to)";
        return;
      }
      std::vector<std::pair<int64_t, int64_t>> points;
      SeriesOf(t, d, key, first, last, step_s, &points);
      body = "{\"from\":";
      AppendJsonInt(&body, first * 1000);
      body += ",\"to\":";
      AppendJsonInt(&body, last * 1000);
      body += ",\"step\":";
      AppendJsonInt(&body, step_s * 1000);
      body += ",\"points\":[";
      for (size_t i = 0; i < points.size(); ++i) {
        if (i > 0) body += ',';
        body += '[';
        AppendJsonInt(&body, points[i].first * 1000);
        body += ',';
        AppendJsonInt(&body, points[i].second);
        body += ']';
      }
      body += "]}";
    });
    if (status == 503) return NoDataYet(res);
    if (status == 400) return Error(res, 400, why);
    res.set_content(body, "application/json");
  });

  server->Get("/v1/ops/stream", [this](const httplib::Request&, httplib::Response& res) {
    if (stream_clients_.fetch_add(1) >= max_stream_clients_) {
      stream_clients_.fetch_sub(1);
      if (rejected_ != nullptr) rejected_->Inc();
      res.set_header("Retry-After", "5");
      return Error(res, 503,
                   "too many stream clients (at most " + std::to_string(max_stream_clients_) +
                       ")");
    }
    if (clients_gauge_ != nullptr) clients_gauge_->Set(stream_clients_.load());
    auto client = std::make_shared<StreamClient>();
    res.set_header("Cache-Control", "no-cache");
    res.set_header("X-Accel-Buffering", "no");
    res.set_chunked_content_provider(
        "text/event-stream",
        [this, client](size_t, httplib::DataSink& sink) { return StreamStep(client.get(), sink); },
        [this](bool) {
          stream_clients_.fetch_sub(1);
          if (clients_gauge_ != nullptr) clients_gauge_->Set(stream_clients_.load());
        });
  });
}

// One turn of a stream client: waits for the next snapshot (at most a tick)
// and writes it. Returning false (a failed write) ends the response.
bool OpsRoutes::StreamStep(StreamClient* client, httplib::DataSink& sink) {
  using Clock = std::chrono::steady_clock;
  if (stopping_) {
    sink.done();
    return true;
  }
  if (!client->started) {
    client->started = true;
    client->last_write = Clock::now();
    std::shared_ptr<const OpsSnapshot> snap = state_->Latest();
    std::string first = "retry: 2000\n\n";
    if (snap != nullptr) {
      first += snap->stream_event;
      client->version = snap->version;
      client->as_of = snap->as_of;
    }
    return sink.write(first.data(), first.size());
  }
  const auto wait = std::max<Clock::duration>(kStreamTick - (Clock::now() - client->last_write),
                                               std::chrono::milliseconds(10));
  std::shared_ptr<const OpsSnapshot> snap = state_->WaitForNewer(
      client->version, std::chrono::duration_cast<std::chrono::milliseconds>(wait));
  if (stopping_) {
    sink.done();
    return true;
  }
  const auto since = Clock::now() - client->last_write;
  if (snap == nullptr) {
    if (since < 15 * kStreamTick) return true;
    client->last_write = Clock::now();
    static constexpr std::string_view kWaiting = ": no events yet\n\n";
    return sink.write(kWaiting.data(), kWaiting.size());
  }
  client->version = snap->version;
  // A new second goes out (coalesced while a backlog replays); otherwise
  // the latest one again once a tick has passed.
  if (snap->as_of == client->as_of && since < kStreamTick) return true;
  if (snap->as_of != client->as_of && since < kStreamMinGap) {
    std::this_thread::sleep_for(kStreamMinGap - since);
    snap = state_->Latest();
  }
  client->as_of = snap->as_of;
  client->version = snap->version;
  client->last_write = Clock::now();
  return sink.write(snap->stream_event.data(), snap->stream_event.size());
}

}  // namespace viewpipe::ops
