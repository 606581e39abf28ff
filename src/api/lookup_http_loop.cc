#include "api/lookup_http_loop.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <spdlog/spdlog.h>

#include "api/http_response.h"
#include "api/json_error.h"

namespace viewpipe {
namespace {

// Stop reading a connection's requests while this much of its answers is
// unsent (a client that pipelines without reading).
constexpr size_t kMaxPendingOut = 256 * 1024;
constexpr size_t kReadChunk = 16 * 1024;
constexpr size_t kMaxBufferedIn = 1024 * 1024;
// A connection keeps a body buffer up to this size for its next POST.
constexpr size_t kKeepBodyBuffer = 1024 * 1024;

Status Errno(const std::string& what) {
  return Status::IOError(what + ": " + std::strerror(errno));
}

double SecondsSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Deadlines are checked every quarter of the shortest timeout (5 ms to 1 s).
std::chrono::milliseconds SweepInterval(const LookupServerOptions& o) {
  std::chrono::milliseconds shortest{4000};
  for (auto t : {o.idle_timeout, o.read_timeout, o.write_timeout}) {
    if (t.count() > 0) shortest = std::min(shortest, t);
  }
  return std::clamp(shortest / 4, std::chrono::milliseconds(5), std::chrono::milliseconds(1000));
}

}  // namespace

LookupHttpServer::Loop::Loop(LookupHttpServer* server)
    : server_(server), sweep_every_(SweepInterval(server->options_)) {}

LookupHttpServer::Loop::~Loop() {
  for (auto& [fd, c] : conns_) {
    ::close(fd);
    server_->ReleaseBodyBytes(c->body_capacity);
    server_->metrics_->Closed();
  }
  for (int fd : adopted_) ::close(fd);
  server_->connections_.fetch_sub(adopted_.size());
  if (wake_fd_ >= 0) ::close(wake_fd_);
  if (epoll_fd_ >= 0) ::close(epoll_fd_);
}

Status LookupHttpServer::Loop::Start() {
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (epoll_fd_ < 0 || wake_fd_ < 0) return Errno("lookup server: epoll/eventfd");
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLEXCLUSIVE;
  ev.data.ptr = &listen_tag_;
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, server_->listen_fd_, &ev) != 0) {
    return Errno("lookup server: epoll_ctl listen");
  }
  ev.events = EPOLLIN;
  ev.data.ptr = &wake_tag_;
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev) != 0) {
    return Errno("lookup server: epoll_ctl wake");
  }
  thread_ = std::thread([this] {
    ::pthread_setname_np(::pthread_self(), "vp-lookup");  // per-thread CPU in the benchmark
    const Status st = ApplyThreadSched(server_->options_.loop_sched);
    if (!st.ok()) spdlog::warn("lookup server: loop scheduling not applied: {}", st.ToString());
    Run();
  });
  return Status::OK();
}

void LookupHttpServer::Loop::Stop() {
  stopping_.store(true);
  Wake();
  if (thread_.joinable()) thread_.join();
}

void LookupHttpServer::Loop::Wake() {
  const uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(wake_fd_, &one, sizeof(one));
}

void LookupHttpServer::Loop::Adopt(int fd) {
  {
    std::lock_guard lock(finished_mu_);
    adopted_.push_back(fd);
  }
  Wake();
}

void LookupHttpServer::Loop::Run() {
  epoll_event events[128];
  now_ = std::chrono::steady_clock::now();
  next_sweep_ = now_ + sweep_every_;
  while (!stopping_.load(std::memory_order_relaxed)) {
    const auto wait = std::chrono::ceil<std::chrono::milliseconds>(next_sweep_ - now_);
    const int timeout_ms = static_cast<int>(std::max<int64_t>(0, wait.count()));
    const int n = ::epoll_wait(epoll_fd_, events, 128, timeout_ms);
    now_ = std::chrono::steady_clock::now();
    for (int i = 0; i < n; ++i) {
      void* tag = events[i].data.ptr;
      if (tag == &wake_tag_) {
        DrainFinished();
      } else if (tag == &listen_tag_) {
        Accept();
      } else {
        Serve(static_cast<Connection*>(tag), events[i].events);
      }
    }
    // After the batch, never before it: the sweep frees the connections it
    // closes, and the batch may hold events of theirs (a use after free).
    if (now_ >= next_sweep_) {
      Sweep();
      next_sweep_ = now_ + sweep_every_;
    }
  }
}

// Sets c's interest, adding it back to the epoll set if a worker had it.
void LookupHttpServer::Loop::Watch(Connection* c, uint32_t interest) {
  if (c->watched && interest == c->interest) return;
  epoll_event ev{};
  ev.events = interest;
  ev.data.ptr = c;
  ::epoll_ctl(epoll_fd_, c->watched ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, c->fd, &ev);
  c->watched = true;
  c->interest = interest;
}

void LookupHttpServer::Loop::Serve(Connection* c, uint32_t events) {
  if (c->in_flight) return;  // not watched then; defensive
  if ((events & (EPOLLIN | EPOLLERR | EPOLLHUP)) && !c->closing) {
    const bool open = Read(c);
    if (c->in_flight) return;  // parked until its worker answers
    if (!open && c->out_pos == c->out.size()) return Close(c);
    if (!open) c->closing = true;
  }
  Continue(c);
}

// Sends what is pending, answers what it held back, and sets the interest.
void LookupHttpServer::Loop::Continue(Connection* c) {
  if (!Flush(c)) return Close(c);
  if (c->out.empty()) {
    // Requests held back while answers were pending; again for as long as
    // their answers all go out at once (a client that reads as fast as we
    // answer). Stopping after one round left requests in c->in with nothing
    // to send and only EPOLLIN watched: when the client had sent them all,
    // no event ever came again.
    while (true) {
      const size_t held = c->in.size();
      Process(c);
      if (c->in_flight) return;
      if (!Flush(c)) return Close(c);
      if (!c->out.empty() || c->in.size() == held || c->closing || c->route != nullptr) break;
    }
  }
  const bool pending = !c->out.empty();
  if (c->closing && !pending) return Close(c);
  uint32_t interest = pending ? static_cast<uint32_t>(EPOLLOUT) : 0u;
  if (!c->closing && (!pending || c->out.size() - c->out_pos < kMaxPendingOut)) {
    interest |= static_cast<uint32_t>(EPOLLIN);
  }
  Watch(c, interest);
}

// Reads what is there (heads into c->in, a body into its buffer) and
// processes the heads; false when the peer closed or the socket failed.
bool LookupHttpServer::Loop::Read(Connection* c) {
  char buf[kReadChunk];
  while (true) {
    if (c->route != nullptr) return ReadBody(c);
    const ssize_t n = ::recv(c->fd, buf, sizeof(buf), 0);
    if (n > 0) {
      server_->metrics_->Received(static_cast<size_t>(n));
      c->last_io = now_;
      if (c->in.empty()) c->request_start = now_;  // a request's first bytes
      c->in.append(buf, static_cast<size_t>(n));
      Process(c);
      if (c->in_flight || c->closing) return true;
      if (c->route != nullptr) continue;  // a body follows: read it in place
      // Short read: nothing more now. Over kMaxBufferedIn: the rest waits
      // (epoll reports it again) until Process has used what is here.
      if (static_cast<size_t>(n) < sizeof(buf) || c->in.size() >= kMaxBufferedIn) return true;
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
    if (n < 0 && errno == EINTR) continue;
    return false;
  }
}

// Reads the rest of the body straight into its buffer, in recv() calls as
// large as what is missing; hands it to a worker once complete.
bool LookupHttpServer::Loop::ReadBody(Connection* c) {
  while (c->body_have < c->body_size) {
    const size_t want = c->body_size - c->body_have;
    const ssize_t n = ::recv(c->fd, c->body.get() + c->body_have, want, 0);
    if (n > 0) {
      server_->metrics_->Received(static_cast<size_t>(n));
      c->last_io = now_;
      c->body_have += static_cast<size_t>(n);
      if (static_cast<size_t>(n) < want) return true;  // nothing more now
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
    if (n < 0 && errno == EINTR) continue;
    return false;
  }
  Submit(c);
  return true;
}

// Sends what is pending; false when the socket failed.
bool LookupHttpServer::Loop::Flush(Connection* c) {
  while (c->out_pos < c->out.size()) {
    const ssize_t n =
        ::send(c->fd, c->out.data() + c->out_pos, c->out.size() - c->out_pos, MSG_NOSIGNAL);
    if (n > 0) {
      server_->metrics_->Sent(static_cast<size_t>(n));
      c->last_io = now_;
      c->out_pos += static_cast<size_t>(n);
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      return true;
    } else if (!(n < 0 && errno == EINTR)) {
      return false;
    }
  }
  c->out.clear();
  c->out_pos = 0;
  return true;
}

// Answers the complete requests buffered in c->in (pipelined ones too), up
// to the first POST, whose body it starts.
void LookupHttpServer::Loop::Process(Connection* c) {
  size_t used = 0;
  while (!c->closing && c->route == nullptr && c->out.size() - c->out_pos < kMaxPendingOut) {
    HttpRequestHead head;
    const std::string_view rest = std::string_view(c->in).substr(used);
    const auto parsed = HttpRequestHead::ParseFrom(rest, server_->options_.max_head_bytes, &head);
    if (parsed == HttpRequestHead::Parse::kIncomplete) break;
    if (parsed != HttpRequestHead::Parse::kOk) {
      const bool large = parsed == HttpRequestHead::Parse::kTooLarge;
      server_->metrics_->Request(HttpServerMetrics::kRouteOther, large ? 431 : 400, 0);
      AppendHttpResponse({.status = large ? 431 : 400, .close = true},
                         JsonErrorBody(large ? "request head too large" : "malformed request"),
                         &c->out);
      c->closing = true;
      break;
    }
    used += head.head_bytes;
    const auto t0 = std::chrono::steady_clock::now();
    int route_id = 0;
    if (const BodyRoute* route = server_->BodyRouteFor(head, &route_id)) {
      c->route_id = route_id;
      c->head_parsed = t0;
      StartBody(c, head, route, &used);
    } else {
      RequestOutcome outcome;
      c->closing = !server_->Answer(head, &c->out, &outcome);
      server_->metrics_->Request(outcome.route, outcome.status, SecondsSince(t0));
    }
  }
  c->in.erase(0, used);
  // What is left in c->in is the next request's start (a body keeps its head's).
  if (used > 0 && c->route == nullptr) c->request_start = now_;
  if (c->route != nullptr && c->body_have == c->body_size) Submit(c);
}

// Admits a POST and takes the body bytes that came with its head.
void LookupHttpServer::Loop::StartBody(Connection* c, const HttpRequestHead& head,
                                       const BodyRoute* route, size_t* used) {
  LookupReply refusal;
  if (head.content_length > server_->options_.max_body_bytes) {
    refusal.status = 413;
    refusal.body = JsonErrorBody("request body too large");
  } else if (route->Admit(head, &refusal)) {
    c->route = route;
    c->keep_alive = head.keep_alive;
    c->request.content_type.assign(head.content_type);
    c->request.content_encoding.assign(head.content_encoding);
    c->body_size = head.content_length;
    if (!c->body || c->body_capacity < c->body_size) {
      ReleaseBody(c);
      if (!server_->ReserveBodyBytes(c->body_size)) {
        return RefuseBody(c, 503, 1, JsonErrorBody("too many request bodies in memory; retry"));
      }
      c->body.reset(new char[c->body_size + kBodyPadding]);
      c->body_capacity = c->body_size;
    }
    std::memset(c->body.get() + c->body_size, ' ', kBodyPadding);
    // The client waits for this before it sends the body (unless it sent it already).
    if (head.expect_continue && c->in.size() == *used) {
      c->out.append("HTTP/1.1 100 Continue\r\n\r\n");
    }
    c->body_have = std::min(c->body_size, c->in.size() - *used);
    std::memcpy(c->body.get(), c->in.data() + *used, c->body_have);
    *used += c->body_have;
    return;
  }
  RefuseBody(c, refusal.status, refusal.retry_after_s, refusal.body);
}

// The body stays unread: it would be taken for the next request, so close.
void LookupHttpServer::Loop::RefuseBody(Connection* c, int status, int retry_after_s,
                                        std::string_view json_body) {
  c->route = nullptr;
  AppendHttpResponse({.status = status, .close = true, .retry_after_s = retry_after_s}, json_body,
                     &c->out);
  c->closing = true;
  server_->metrics_->Request(c->route_id, status, SecondsSince(c->head_parsed));
}

// Parks c (out of the epoll set) and hands its body to a worker.
void LookupHttpServer::Loop::Submit(Connection* c) {
  Flush(c);  // answers before this POST go out now (a failure shows at Finish)
  if (c->watched) ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, c->fd, nullptr);
  c->watched = false;
  c->in_flight = true;
  server_->workers_.Submit([this, c] {
    c->reply = LookupReply();
    c->route->Handle(c->request, std::string_view(c->body.get(), c->body_size), &c->reply);
    {
      std::lock_guard lock(finished_mu_);
      finished_.push_back(c);
    }
    Wake();
  });
}

void LookupHttpServer::Loop::DrainFinished() {
  uint64_t count = 0;
  [[maybe_unused]] ssize_t n = ::read(wake_fd_, &count, sizeof(count));
  std::vector<Connection*> done;
  std::vector<int> adopted;
  {
    std::lock_guard lock(finished_mu_);
    done.swap(finished_);
    adopted.swap(adopted_);
  }
  for (int fd : adopted) AddConnection(fd);
  for (Connection* c : done) Finish(c);
}

// Sends a worker's reply and resumes the connection.
void LookupHttpServer::Loop::Finish(Connection* c) {
  c->in_flight = false;
  c->route = nullptr;
  c->last_io = now_;
  c->request_start = now_;  // pipelined bytes in c->in: the next request starts now
  server_->metrics_->Request(c->route_id, c->reply.status, SecondsSince(c->head_parsed));
  const bool close = !c->keep_alive;
  AppendHttpResponse(
      {.status = c->reply.status, .close = close, .retry_after_s = c->reply.retry_after_s},
      c->reply.body, &c->out);
  c->closing = c->closing || close;
  if (c->body_capacity > kKeepBodyBuffer) ReleaseBody(c);
  Watch(c, EPOLLIN);
  Continue(c);
}

}  // namespace viewpipe
