#pragma once
// EventsBodyRoute: POST /v1/events on the event-loop port
// (lookup_http_server.h), with exactly the semantics and the response
// bodies of the cpp-httplib route (ingest/collector_routes.h): write keys
// (401), Content-Encoding gzip or identity (415 otherwise), limits (413),
// 400 for a body that is not JSON, per-event errors in a 200, 503 with
// Retry-After when the log cannot take more, 200 only after fsync (the
// worker blocks in Collector::Ingest until group commit's fsync).
//
// Differences: a chunked body (Transfer-Encoding) is refused with 411
// (players send Content-Length; the main port still takes chunked), and a
// Content-Length over the limit is answered 413 before the body is read
// (the main port reads it first, or closes without an answer when it is
// over the limit by more than gzip's headroom).
//
// Thread safety: as Collector.

#include "api/lookup_http_server.h"

namespace viewpipe {

class Collector;

class EventsBodyRoute final : public BodyRoute {
 public:
  // collector must outlive the route.
  explicit EventsBodyRoute(Collector* collector) : collector_(collector) {}

  bool Admit(const HttpRequestHead& head, LookupReply* reply) const override;
  void Handle(const BodyRequest& request, std::string_view body,
              LookupReply* reply) const override;

 private:
  Collector* collector_;
};

}  // namespace viewpipe
