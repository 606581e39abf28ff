#include "api/http_server_metrics.h"

namespace viewpipe {
namespace {

const char kRequestsName[] = "viewpipe_http_requests_total";
const char kRequestsHelp[] = "HTTP answers sent by an event-loop port, by route and status";

}  // namespace

HttpServerMetrics::HttpServerMetrics(MetricsRegistry* registry, std::string port,
                                     std::vector<std::string> routes)
    : registry_(registry), port_(std::move(port)) {
  for (std::string& label : routes) {
    Route r;
    r.label = std::move(label);
    r.by_status = std::make_unique<std::array<std::atomic<Counter*>, kStatuses>>();
    for (auto& c : *r.by_status) c.store(nullptr, std::memory_order_relaxed);
    if (registry_ != nullptr) {
      r.seconds = registry_->GetHistogram(
          "viewpipe_http_request_seconds",
          "Seconds from a request's head parsed to its answer queued (POST: body read and "
          "handled), event-loop ports",
          {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
           2.5, 5, 10},
          {{"port", port_}, {"route", r.label}});
    }
    routes_.push_back(std::move(r));
  }
  if (registry_ == nullptr) return;
  const Labels port_label = {{"port", port_}};
  open_ = registry_->GetGauge("viewpipe_http_open_connections",
                              "Open connections of an event-loop port", port_label);
  received_ = registry_->GetCounter("viewpipe_http_received_bytes_total",
                                    "Request bytes read by an event-loop port", port_label);
  sent_ = registry_->GetCounter("viewpipe_http_sent_bytes_total",
                                "Response bytes sent by an event-loop port", port_label);
  const char* closed_help = "Connections an event-loop port closed on a timeout, by reason";
  const char* reasons[] = {"idle", "read_timeout", "write_timeout"};
  for (size_t i = 0; i < closed_.size(); ++i) {
    closed_[i] = registry_->GetCounter("viewpipe_http_connections_closed_total", closed_help,
                                       {{"port", port_}, {"reason", reasons[i]}});
  }
  const char* rejected_help = "Connections an event-loop port closed at accept, by reason";
  const char* limits[] = {"max_connections", "fd_limit"};
  for (size_t i = 0; i < rejected_.size(); ++i) {
    rejected_[i] = registry_->GetCounter("viewpipe_http_connections_rejected_total",
                                         rejected_help, {{"port", port_}, {"reason", limits[i]}});
  }
}

Counter* HttpServerMetrics::StatusCounter(Route& r, int status) {
  if (status < 100 || status >= 100 + kStatuses) status = 599;  // never sent; defensive
  std::atomic<Counter*>& slot = (*r.by_status)[static_cast<size_t>(status - 100)];
  Counter* c = slot.load(std::memory_order_acquire);
  if (c == nullptr) {  // first use of this label set: the registry's lock, once
    const Labels labels = {{"port", port_}, {"route", r.label}, {"status", std::to_string(status)}};
    c = registry_->GetCounter(kRequestsName, kRequestsHelp, labels);
    slot.store(c, std::memory_order_release);
  }
  return c;
}

void HttpServerMetrics::Request(int route, int status, double seconds) {
  if (registry_ == nullptr) return;
  if (route < 0 || static_cast<size_t>(route) >= routes_.size()) route = kRouteOther;
  Route& r = routes_[static_cast<size_t>(route)];
  StatusCounter(r, status)->Inc();
  r.seconds->Observe(seconds);
}

void HttpServerMetrics::ClosedBy(CloseReason reason) {
  if (Counter* c = closed_[static_cast<size_t>(reason)]) c->Inc();
}

void HttpServerMetrics::Rejected(RejectReason reason) {
  if (Counter* c = rejected_[static_cast<size_t>(reason)]) c->Inc();
}

}  // namespace viewpipe
