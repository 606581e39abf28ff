#pragma once
// HttpServerMetrics: the Prometheus metrics of one event-loop port
// (lookup_http_server.h), labelled port="<name>" ("fast" for `serve
// --fast-port`, "lookup" for `--features-lookup-port`):
//
//   viewpipe_http_requests_total{port,route,status}      answers sent
//   viewpipe_http_request_seconds{port,route}            head parsed -> answer queued
//   viewpipe_http_open_connections{port}                 gauge
//   viewpipe_http_connections_closed_total{port,reason}  idle | read_timeout | write_timeout
//   viewpipe_http_connections_rejected_total{port,reason} max_connections | fd_limit
//   viewpipe_http_received_bytes_total{port}             request bytes read (heads and bodies)
//   viewpipe_http_sent_bytes_total{port}                 response bytes sent
//
// `route` is bounded: a registered prefix or body route path, "/healthz",
// or "other" (404s, malformed heads). Without a registry every call is a
// no-op. Thread safe; the hot calls are lock-free after a label set's first
// use (its counter is looked up once and cached).

#include <array>
#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "common/metrics.h"

namespace viewpipe {

class HttpServerMetrics {
 public:
  enum class CloseReason { kIdle, kReadTimeout, kWriteTimeout };
  enum class RejectReason { kMaxConnections, kFdLimit };
  static constexpr int kRouteOther = 0;

  // routes: the route labels, index 0 being "other". registry may be null.
  HttpServerMetrics(MetricsRegistry* registry, std::string port, std::vector<std::string> routes);
  HttpServerMetrics(const HttpServerMetrics&) = delete;
  HttpServerMetrics& operator=(const HttpServerMetrics&) = delete;

  void Request(int route, int status, double seconds);
  void Opened() { if (open_) open_->Add(1); }
  void Closed() { if (open_) open_->Add(-1); }
  void ClosedBy(CloseReason reason);
  void Rejected(RejectReason reason);
  void Received(size_t n) { if (received_) received_->Inc(n); }
  void Sent(size_t n) { if (sent_) sent_->Inc(n); }

 private:
  static constexpr int kStatuses = 500;  // 100..599
  struct Route {
    std::string label;
    Histogram* seconds = nullptr;
    std::unique_ptr<std::array<std::atomic<Counter*>, kStatuses>> by_status;
  };
  Counter* StatusCounter(Route& r, int status);

  MetricsRegistry* registry_;
  std::string port_;
  std::vector<Route> routes_;
  Gauge* open_ = nullptr;
  Counter* received_ = nullptr;
  Counter* sent_ = nullptr;
  std::array<Counter*, 3> closed_{};
  std::array<Counter*, 2> rejected_{};
};

}  // namespace viewpipe
