#pragma once
// LookupHttpServer: a small HTTP/1.1 keep-alive server for read-only GET
// lookups answered from memory (the online feature lookups, api.md
// "Recommendations"), on a port of its own beside the main API server.
//
// Why: cpp-httplib (the main server) gives every connection a pool thread
// that blocks in poll(); a request costs it two poll wake-ups, getpeername,
// getsockname and two send()s with a poll each (11 system calls), and that,
// not the store, was most of a lookup's CPU (bench/README.md, "Features").
// Here one epoll loop per thread serves many connections: a request is a
// recv() and (with pipelining, for several) one send(). Accepted connections
// are dealt round robin over the loops and stay on theirs.
//
// Routes: GET (or HEAD) on a path prefix, registered before Start; the
// handler gets the rest of the path, percent-decoded, and fills a status
// and a JSON body. Built in: GET /healthz -> {"status":"ok"}. Read tokens:
// the read_auth.h rule (every /v1/ path needs a token when any is
// configured; Bearer header or ?access_token=). Answers 400 to a malformed
// head or a request with a body (then closes), 405 to other methods, 404 to
// other paths, 431 to a head over max_head_bytes (then closes).
//
// Thread safety: handlers run concurrently on the loop threads.

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "api/http_request_head.h"
#include "common/status.h"

namespace viewpipe {

struct LookupReply {
  int status = 200;
  std::string body;  // JSON
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
};

class LookupHttpServer {
 public:
  explicit LookupHttpServer(LookupServerOptions options);
  ~LookupHttpServer();  // Stop()
  LookupHttpServer(const LookupHttpServer&) = delete;
  LookupHttpServer& operator=(const LookupHttpServer&) = delete;

  // REQUIRES: before Start. The longest matching prefix wins.
  void AddPrefix(std::string prefix, LookupHandler handler);
  // Binds and starts the loops.
  Status Start();
  int port() const { return port_; }
  // Closes the listener and every connection; joins the loops. Idempotent.
  void Stop();

  // The whole HTTP/1.1 answer for a request with head (exposed for tests):
  // appends it to out; returns false when the connection must close after it.
  bool Answer(const HttpRequestHead& head, std::string* out) const;

 private:
  class Loop;
  struct Route {
    std::string prefix;
    LookupHandler handler;
  };
  void Dispatch(const HttpRequestHead& head, LookupReply* reply, bool* unauthorized) const;
  // The loop the next accepted connection goes to (round robin).
  Loop* NextLoop();

  LookupServerOptions options_;
  std::vector<Route> routes_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<size_t> connections_{0};
  std::atomic<size_t> next_loop_{0};
  std::vector<std::unique_ptr<Loop>> loops_;
};

}  // namespace viewpipe
