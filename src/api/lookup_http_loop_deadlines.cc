// LookupHttpServer::Loop, continued: connections coming and going (accept,
// close) and their deadlines (the timeouts of lookup_http_server.h).

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>

#include <spdlog/spdlog.h>

#include "api/http_response.h"
#include "api/json_error.h"
#include "api/lookup_http_loop.h"

namespace viewpipe {

void LookupHttpServer::Loop::Accept() {
  while (true) {
    const int fd = ::accept4(server_->listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno != EMFILE && errno != ENFILE) return;  // EAGAIN: another loop took it, or none left
      if (!server_->ShedOneConnection()) return;
      static std::atomic<int64_t> last_warned_s{-60};
      const int64_t now_s =
          std::chrono::duration_cast<std::chrono::seconds>(now_.time_since_epoch()).count();
      if (now_s - last_warned_s.exchange(now_s) >= 10) {  // at most one line per 10 s
        spdlog::warn("{} port: out of file descriptors; new connections are closed",
                     server_->options_.metrics_port);
      }
      continue;
    }
    if (server_->connections_.fetch_add(1) >= server_->options_.max_connections) {
      server_->connections_.fetch_sub(1);
      server_->metrics_->Rejected(HttpServerMetrics::RejectReason::kMaxConnections);
      ::close(fd);  // after counting: a client that sees the close sees the count
      continue;
    }
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    Loop* to = server_->NextLoop();
    if (to == this) {
      AddConnection(fd);
    } else {
      to->Adopt(fd);
    }
  }
}

void LookupHttpServer::Loop::AddConnection(int fd) {
  auto c = std::make_unique<Connection>();
  c->fd = fd;
  c->last_io = now_;
  Connection* raw = c.get();
  conns_[fd] = std::move(c);
  server_->metrics_->Opened();
  Watch(raw, EPOLLIN);
}

// REQUIRES: !c->in_flight (a worker may not hold it).
void LookupHttpServer::Loop::Close(Connection* c) {
  const int fd = c->fd;
  if (c->watched) ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
  ::close(fd);
  ReleaseBody(c);
  conns_.erase(fd);
  server_->connections_.fetch_sub(1);
  server_->metrics_->Closed();
}

void LookupHttpServer::Loop::ReleaseBody(Connection* c) {
  server_->ReleaseBodyBytes(c->body_capacity);
  c->body.reset();
  c->body_capacity = 0;
}

bool LookupHttpServer::Loop::Expired(const Connection& c,
                                     HttpServerMetrics::CloseReason* reason) const {
  using Reason = HttpServerMetrics::CloseReason;
  const LookupServerOptions& o = server_->options_;
  const auto past = [this](Time since, std::chrono::milliseconds limit) {
    return limit.count() > 0 && now_ - since >= limit;
  };
  if (c.in_flight) return false;  // a worker has it; its answer comes
  if (c.out_pos < c.out.size()) {  // answers the client does not read
    *reason = Reason::kWriteTimeout;
    return past(c.last_io, o.write_timeout);
  }
  if (!c.in.empty() || c.route != nullptr) {  // a request under way
    *reason = Reason::kReadTimeout;
    return past(c.request_start, o.read_timeout);
  }
  *reason = Reason::kIdle;
  return past(c.last_io, o.idle_timeout);
}

void LookupHttpServer::Loop::Sweep() {
  std::vector<std::pair<Connection*, HttpServerMetrics::CloseReason>> expired;
  for (auto& [fd, c] : conns_) {
    HttpServerMetrics::CloseReason reason;
    if (Expired(*c, &reason)) expired.push_back({c.get(), reason});
  }
  for (auto [c, reason] : expired) {
    if (reason == HttpServerMetrics::CloseReason::kReadTimeout) {
      // Best effort, one send: the client may be mid-write and never read it.
      std::string out;
      AppendHttpResponse({.status = 408, .close = true},
                         JsonErrorBody("the request did not arrive in time"), &out);
      [[maybe_unused]] ssize_t n =
          ::send(c->fd, out.data(), out.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      const int route = c->route != nullptr ? c->route_id : HttpServerMetrics::kRouteOther;
      server_->metrics_->Request(route, 408,
                                 std::chrono::duration<double>(now_ - c->request_start).count());
    }
    server_->metrics_->ClosedBy(reason);
    Close(c);
  }
}

}  // namespace viewpipe
