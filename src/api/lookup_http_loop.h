#pragma once
// LookupHttpServer::Loop: one epoll loop of the event-loop server
// (lookup_http_server.h). It accepts from the shared listener (EPOLLEXCLUSIVE,
// so a new connection wakes one loop) and deals the connections it accepts
// round robin over all loops (the first loop to wake used to accept a whole
// burst and serve it alone); a connection then stays on its loop, which
// serves heads, GET answers and POST bodies (read here, handled on a body
// worker that posts the reply back through wake_fd_). Every sweep_ the loop
// closes the connections past their deadline (Sweep, the timeouts of
// lookup_http_server.h). Internal to lookup_http_server.cc.

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "api/lookup_http_server.h"

namespace viewpipe {

class LookupHttpServer::Loop {
 public:
  explicit Loop(LookupHttpServer* server);
  ~Loop();

  Status Start();
  // Joins the loop thread. REQUIRES: no body worker still runs a job of it.
  void Stop();
  // Hands this loop a connection another loop accepted (any thread).
  void Adopt(int fd);

 private:
  using Time = std::chrono::steady_clock::time_point;
  struct Connection {
    int fd = -1;
    std::string in;  // bytes of heads (and the first body bytes that came with one)
    std::string out;
    size_t out_pos = 0;
    bool closing = false;  // close once out is sent
    bool watched = false;  // in the epoll set (not while a worker has the body)
    uint32_t interest = 0;
    // The POST whose body is being read (route set) or handled (in_flight).
    const BodyRoute* route = nullptr;
    bool in_flight = false;
    bool keep_alive = true;
    BodyRequest request;
    std::unique_ptr<char[]> body;  // body_capacity + kBodyPadding bytes
    size_t body_capacity = 0;      // accounted in the server's body budget
    size_t body_size = 0;          // Content-Length
    size_t body_have = 0;
    LookupReply reply;  // written by the worker
    // Deadlines (loop time): the last byte received or sent, and the first
    // byte of the request under way (when in or a body is pending).
    Time last_io;
    Time request_start;
    // The POST's metrics: its route id and when its head was parsed.
    int route_id = 0;
    Time head_parsed;
  };

  void Run();
  // Closes the connections past their deadline.
  void Sweep();
  // Whether c is past its deadline, and for which reason.
  bool Expired(const Connection& c, HttpServerMetrics::CloseReason* reason) const;
  void ReleaseBody(Connection* c);
  void Accept();
  void AddConnection(int fd);
  void Wake();
  void Watch(Connection* c, uint32_t interest);
  void Close(Connection* c);
  void Serve(Connection* c, uint32_t events);
  void Continue(Connection* c);
  bool Read(Connection* c);
  bool ReadBody(Connection* c);
  bool Flush(Connection* c);
  void Process(Connection* c);
  void StartBody(Connection* c, const HttpRequestHead& head, const BodyRoute* route, size_t* used);
  void RefuseBody(Connection* c, int status, int retry_after_s, std::string_view json_body);
  void Submit(Connection* c);
  void Finish(Connection* c);
  void DrainFinished();

  LookupHttpServer* server_;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  char listen_tag_ = 0;
  char wake_tag_ = 0;
  std::atomic<bool> stopping_{false};
  Time now_;         // read after each epoll_wait: the loop's clock for deadlines
  Time next_sweep_;
  std::chrono::milliseconds sweep_every_;
  std::unordered_map<int, std::unique_ptr<Connection>> conns_;
  std::mutex finished_mu_;
  std::vector<Connection*> finished_;  // guarded by finished_mu_: replies the workers posted
  std::vector<int> adopted_;           // guarded by finished_mu_: connections dealt to us
  std::thread thread_;
};

}  // namespace viewpipe
