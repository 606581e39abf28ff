#pragma once
// The ops read API (api.md, "Operations") of a process of the ops group:
// the same routes and answers as OpsRoutes, but every number is the sum
// over all partitions of `viewing`, read from every live member of the
// group (MergedReader), so any member answers for the whole group:
//
//   GET /v1/ops/concurrency?by=&top=&at=&live=1
//   GET /v1/ops/concurrency/series?by=&key=&from=&to=&step=
//   GET /v1/ops/stream        one merged `data:` event per complete second
//
// A partition no member reports makes them 503 {"error": "partitions ...
// have no live owner ..."} with Retry-After (never a short count); the
// stream then sends a comment line instead of an event.
//
// And the members' own endpoint (not part of the stable API):
//   GET /v1/ops/partials?second=S&dims=title_id,...&from=&to=&step=&series_by=&key=
//     {"instance": "...", "partitions": [report, ...]} (partial_counts.h),
//     times in seconds except the watermark (ms).
//
// Thread safety: handlers run on HTTP threads.

#include <atomic>
#include <memory>
#include <mutex>
#include <string>

#include "common/metrics.h"
#include "opsgroup/merged_reader.h"

namespace httplib {
class Server;
class DataSink;
struct Request;
}  // namespace httplib

namespace viewpipe::ops {

class OpsGroupRoutes {
 public:
  // All pointers must outlive the server's handlers; metrics may be null.
  OpsGroupRoutes(PartitionShards* shards, MergedReader* reader, std::string instance,
                 int max_stream_clients, MetricsRegistry* metrics);
  void Register(httplib::Server* server);
  // Ends every stream within about a second.
  void Stop() { stopping_ = true; }

 private:
  struct StreamClient;
  struct StreamEvent {
    int64_t as_of = INT64_MIN;
    std::string text;  // "data: {...}\n\n", or a ": ..." comment when not exact
  };
  // The newest merged second as a stream event, shared by all stream
  // clients (computed at most every 500 ms).
  std::shared_ptr<const StreamEvent> NewestEvent(const std::string& auth);
  bool StreamStep(StreamClient* client, httplib::DataSink& sink);
  void RegisterPartials(httplib::Server* server);
  void RegisterStream(httplib::Server* server);

  PartitionShards* shards_;
  MergedReader* reader_;
  const std::string instance_;
  const int max_stream_clients_;
  std::atomic<int> stream_clients_{0};
  std::atomic<bool> stopping_{false};
  std::mutex event_mu_;
  std::shared_ptr<const StreamEvent> event_;
  std::chrono::steady_clock::time_point event_at_{};
  Counter* rejected_ = nullptr;
};

}  // namespace viewpipe::ops
