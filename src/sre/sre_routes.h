#pragma once
// The SRE read API (../shared/spec/api.md, "SRE"):
//
//   GET /v1/sre/qoe?by=<dim>&window=<seconds>
//       dim: cdn | country | isp | device_type | title_id | cdn_country
//       (key "<cdn>|<country>"); without by, the total only. window: 10 s to
//       the 5 min series' retention (default 300); the range is the last
//       `window` seconds of event time before as_of (the end of the newest
//       closed window), read from the 10 s windows up to their retention,
//       then from the 1 min and 5 min rollups (from is rounded down to the
//       series' step).
//       {"as_of","from","window","step_ms","by","total":{...},
//        "groups":[{"key",...metrics}]}, groups by attempts, descending.
//   GET /v1/sre/qoe/series?by=<dim>&key=<k>&step=<s>&range=<s>
//       {"step_ms","points":[{"at":ms,...metrics}]} (the dashboard's charts).
//   GET /v1/sre/alerts?state=open|all&since=<ms>
//       {"alerts":[...]} newest first (alert.h); state=all lists alerts
//       started at or after since, and every open one.
// Bad parameters: 400 {"error"}; no closed window yet: 503 with Retry-After.
//
// Thread safety: handlers run on HTTP threads and read SreState / AlertBook.

#include "sre/alert_book.h"
#include "sre/sre_state.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace viewpipe::sre {

class SreRoutes {
 public:
  // state and book must outlive the server's handlers.
  SreRoutes(const SreState* state, const AlertBook* book) : state_(state), book_(book) {}
  void Register(httplib::Server* server);

 private:
  void GetQoe(const httplib::Request& req, httplib::Response& res) const;
  void GetSeries(const httplib::Request& req, httplib::Response& res) const;
  void GetAlerts(const httplib::Request& req, httplib::Response& res) const;

  const SreState* state_;
  const AlertBook* book_;
};

}  // namespace viewpipe::sre
