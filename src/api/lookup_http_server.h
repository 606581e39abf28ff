#pragma once
// LookupHttpServer: the event-loop port (`serve --fast-port`, docs/fast_port.md).
// A small HTTP/1.1 keep-alive server for the hot requests, on a port of its
// own beside the main (cpp-httplib) API server: the GET lookups answered
// from memory (the online feature lookups, api.md "Recommendations") and
// POST /v1/events (body routes, below).
//
// Why: cpp-httplib (the main server) gives every connection a pool thread
// that blocks in poll(); a lookup costs it 11 system calls, and it reads a
// request body in 4 KiB poll+recv pairs (~100 per 190 KB POST), which was
// most of a lookup's CPU and ~10 % of an ingested event's (bench/README.md,
// "Features" and "Ingest"). Here one epoll loop per thread serves many
// connections: a lookup is a recv() and (with pipelining, for several) one
// send(); a POST body is read straight into a per-connection buffer sized
// from Content-Length, with recv() calls as large as what is left of it.
//
// Routes: GET (or HEAD) on a path prefix, registered before Start; the
// handler gets the rest of the path, percent-decoded, and fills a status
// and a JSON body. Built in: GET /healthz -> {"status":"ok"}. Read tokens:
// the read_auth.h rule (every /v1/ path needs a token when any is
// configured; Bearer header or ?access_token=); body routes do their own
// auth (write keys). Answers 400 to a malformed head or a request with a
// body on a GET route (then closes), 405 to other methods, 404 to other
// paths, 431 to a head over max_head_bytes (then closes).
//
// Body routes (POST on an exact path): once the head is in, the route's
// Admit decides on the loop thread (auth, encoding, Content-Length limit;
// a refusal closes the connection, as the body is left unread). The body
// is then read into the connection's buffer; when complete, the connection
// is parked (out of the epoll set, its pipelined bytes wait in the socket)
// and Handle runs on a body worker (body_workers.h), which may block on
// fsync; the worker posts the reply back to the loop through its eventfd,
// the loop sends it and resumes the connection.
//
// Timeouts and limits (docs/fast_port.md, "Timeouts and limits"): a
// connection with no request under way is closed after idle_timeout; a
// request whose head and body have not all arrived within read_timeout of
// its first byte gets a 408 and the connection closes (a slowloris that
// trickles or stops mid-body); answers a client does not read for
// write_timeout close it. Past max_connections a new connection is closed
// at accept; when the process is out of descriptors, too (no busy loop on
// the listener). All connections' body buffers together stay within
// max_body_buffer_bytes: a POST that would pass it gets 503 + Retry-After.
// Metrics (when options.metrics is set): http_server_metrics.h.
//
// Thread safety: GET handlers run concurrently on the loop threads, body
// handlers on the body workers.

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "api/body_workers.h"
#include "api/http_request_head.h"
#include "api/http_server_metrics.h"
#include "common/status.h"
#include "common/thread_sched.h"

namespace viewpipe {

// What a request was answered with, for the metrics.
struct RequestOutcome {
  int route = HttpServerMetrics::kRouteOther;
  int status = 0;
};

struct LookupReply {
  int status = 200;
  std::string body;       // JSON
  int retry_after_s = 0;  // > 0: send Retry-After
};

// The parts of a POST's head that its handler needs after the head's
// buffer is gone.
struct BodyRequest {
  std::string content_type;
  std::string content_encoding;
};

// A body buffer has this many readable bytes past the body (simdjson's
// SIMDJSON_PADDING), so a parser could read it in place.
inline constexpr size_t kBodyPadding = 64;

class BodyRoute {
 public:
  virtual ~BodyRoute() = default;
  // On a loop thread, before the body is read: true to read it (then
  // head.content_length bytes are read; keep that within your limit), or
  // false with the refusal in *reply (the connection closes after it).
  virtual bool Admit(const HttpRequestHead& head, LookupReply* reply) const = 0;
  // On a body worker, with the whole body; may block.
  virtual void Handle(const BodyRequest& request, std::string_view body,
                      LookupReply* reply) const = 0;
};

using LookupHandler =
    std::function<void(std::string_view rest, const HttpRequestHead& head, LookupReply* reply)>;

struct LookupServerOptions {
  std::string host = "127.0.0.1";
  int port = 0;     // 0: any free port (see port())
  int threads = 2;  // event loops
  std::vector<std::string> read_tokens;
  size_t max_head_bytes = 8192;
  size_t max_connections = 4096;  // over it a new connection is closed at once
  // The main port's cpp-httplib values: 5 s keep-alive, 30 s read (here for
  // the whole request, not per recv), 5 s write.
  std::chrono::milliseconds idle_timeout{5000};
  std::chrono::milliseconds read_timeout{30000};
  std::chrono::milliseconds write_timeout{5000};
  size_t max_body_buffer_bytes = size_t{256} << 20;  // all connections' body buffers
  MetricsRegistry* metrics = nullptr;  // not owned; null: no metrics
  std::string metrics_port = "fast";   // the port="..." label
  int body_threads = 16;          // body workers (only when a body route is added)
  // A body route's Content-Length is refused (413) above this, whatever Admit says.
  size_t max_body_bytes = 64 << 20;
  // The loop threads' scheduling (thread_sched.h). A lookup is a few us of
  // CPU, but with a handful of keep-alive connections at 50,000/s each
  // request has ~160 us to come back; a loop that waits for a core behind
  // a pipeline thread's slice (~3 ms) makes thousands of requests queue.
  // A short slice lets the woken loop preempt at once (bench/README.md,
  // "Features"). Failures are logged once; the loop runs regardless.
  ThreadSched loop_sched{.nice_delta = 0, .slice_us = 100};
};

class LookupHttpServer {
 public:
  explicit LookupHttpServer(LookupServerOptions options);
  ~LookupHttpServer();  // Stop()
  LookupHttpServer(const LookupHttpServer&) = delete;
  LookupHttpServer& operator=(const LookupHttpServer&) = delete;

  // REQUIRES: before Start. The longest matching prefix wins.
  void AddPrefix(std::string prefix, LookupHandler handler);
  // REQUIRES: before Start; route outlives the server. POST on exactly path.
  void AddBodyRoute(std::string path, const BodyRoute* route);
  // Binds and starts the loops.
  Status Start();
  int port() const { return port_; }
  // Closes the listener and every connection; joins the loops. Idempotent.
  void Stop();

  // The whole HTTP/1.1 answer for a request with head (exposed for tests):
  // appends it to out; returns false when the connection must close after it.
  bool Answer(const HttpRequestHead& head, std::string* out,
              RequestOutcome* outcome = nullptr) const;
  // The body route for a request with head (and its metrics route id), or nullptr.
  const BodyRoute* BodyRouteFor(const HttpRequestHead& head, int* route_id = nullptr) const;

 private:
  class Loop;
  struct Route {
    std::string prefix;
    LookupHandler handler;
  };
  // Metrics route ids: other (0), /healthz (1), routes_ (2...), then body_routes_.
  static constexpr int kRouteHealth = 1;
  static constexpr int kFirstPrefixRoute = 2;
  void Dispatch(const HttpRequestHead& head, LookupReply* reply, bool* unauthorized,
                int* route_id) const;
  void MakeMetrics();
  // Accounts a body buffer of n more bytes; false when the budget has no room.
  bool ReserveBodyBytes(size_t n);
  void ReleaseBodyBytes(size_t n) { body_buffer_bytes_.fetch_sub(n); }
  // Out of descriptors: accepts and closes one pending connection; false
  // when there was none.
  bool ShedOneConnection();
  // The loop the next accepted connection goes to (round robin).
  Loop* NextLoop();

  LookupServerOptions options_;
  std::vector<Route> routes_;
  std::vector<std::pair<std::string, const BodyRoute*>> body_routes_;
  BodyWorkers workers_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::unique_ptr<HttpServerMetrics> metrics_;
  std::atomic<size_t> connections_{0};
  std::atomic<size_t> body_buffer_bytes_{0};
  std::mutex reserve_mu_;
  int reserve_fd_ = -1;  // a spare descriptor, given up to shed a connection at EMFILE
  std::atomic<size_t> next_loop_{0};
  std::vector<std::unique_ptr<Loop>> loops_;
};

}  // namespace viewpipe
