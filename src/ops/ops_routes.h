#pragma once
// The ops read API (../shared/spec/api.md, "Operations"):
//
//   GET /v1/ops/concurrency?by=&top=&at=
//   GET /v1/ops/concurrency?by=&top=&live=1   the running second, provisional
//   GET /v1/ops/concurrency/series?by=&key=&from=&to=&step=
//   GET /v1/ops/stream        Server-Sent Events for the dashboard
//
// Bad input gets 400 {"error": "..."}; before the first event the live
// reads get 503 {"error": ...} with Retry-After.
//
// Stream: one `data: {...}` event per complete second (at most one per
// 200 ms while a backlog is replayed; the latest one again after a second
// without a new one). Each client costs one HTTP worker thread and its
// socket buffer, nothing else: it sends the newest shared snapshot, never a
// queue of them, so a slow client skips seconds and a stuck one is dropped
// by the server's write timeout; neither touches the consumer. At most
// max_stream_clients at once; more get 503.
//
// Thread safety: handlers run on HTTP threads and read through OpsState.

#include <atomic>
#include <cstdint>
#include <optional>

#include "common/metrics.h"
#include "ops/dimension.h"
#include "ops/ops_state.h"

namespace httplib {
class Server;
class DataSink;
struct Response;
}  // namespace httplib

namespace viewpipe::ops {

class OpsRoutes {
 public:
  // state (and metrics, may be null) must outlive the server's handlers.
  OpsRoutes(OpsState* state, int max_stream_clients, MetricsRegistry* metrics);
  void Register(httplib::Server* server);
  // Ends every stream within about a second (before the server stops).
  void Stop();
  int stream_clients() const { return stream_clients_.load(); }

 private:
  struct StreamClient;
  bool StreamStep(StreamClient* client, httplib::DataSink& sink);
  void LiveConcurrency(std::optional<Dimension> d, std::optional<int64_t> top,
                       httplib::Response& res);

  OpsState* state_;
  const int max_stream_clients_;
  std::atomic<int> stream_clients_{0};
  std::atomic<bool> stopping_{false};
  Gauge* clients_gauge_ = nullptr;
  Counter* rejected_ = nullptr;
};

}  // namespace viewpipe::ops
