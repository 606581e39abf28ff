#pragma once
// LookupHttpServer::Loop: one epoll loop of the event-loop server
// (lookup_http_server.h). It accepts from the shared listener (EPOLLEXCLUSIVE,
// so a new connection wakes one loop) and deals the connections it accepts
// round robin over all loops (the first loop to wake used to accept a whole
// burst and serve it alone); a connection then stays on its loop, which
// serves heads, GET answers and POST bodies (read here, handled on a body
// worker that posts the reply back through wake_fd_). Internal to
// lookup_http_server.cc.

#include <atomic>
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
  struct Connection;

  void Run();
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
  void Submit(Connection* c);
  void Finish(Connection* c);
  void DrainFinished();

  LookupHttpServer* server_;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  char listen_tag_ = 0;
  char wake_tag_ = 0;
  std::atomic<bool> stopping_{false};
  std::unordered_map<int, std::unique_ptr<Connection>> conns_;
  std::mutex finished_mu_;
  std::vector<Connection*> finished_;  // guarded by finished_mu_: replies the workers posted
  std::vector<int> adopted_;           // guarded by finished_mu_: connections dealt to us
  std::thread thread_;
};

}  // namespace viewpipe
