#include "api/lookup_http_server.h"

#include <netdb.h>
#include <pthread.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <unordered_map>

#include "api/json_error.h"
#include "api/read_auth.h"
#include "common/json_writer.h"

namespace viewpipe {
namespace {

// Stop reading a connection's requests while this much of its answers is
// unsent (a client that pipelines without reading).
constexpr size_t kMaxPendingOut = 256 * 1024;
constexpr size_t kReadChunk = 16 * 1024;
constexpr size_t kMaxBufferedIn = 1024 * 1024;

const char* Reason(int status) {
  switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 431: return "Request Header Fields Too Large";
    case 503: return "Service Unavailable";
    default: return status < 500 ? "Client Error" : "Server Error";
  }
}

void AppendResponse(int status, std::string_view body, bool head_only, bool close,
                    bool unauthorized, std::string* out) {
  out->append("HTTP/1.1 ");
  AppendJsonInt(out, status);
  out->push_back(' ');
  out->append(Reason(status));
  out->append("\r\nContent-Type: application/json\r\nContent-Length: ");
  AppendJsonInt(out, static_cast<int64_t>(body.size()));
  if (close) out->append("\r\nConnection: close");
  if (unauthorized) out->append("\r\nWWW-Authenticate: Bearer");
  out->append("\r\n\r\n");
  if (!head_only) out->append(body);
}

Status Errno(const std::string& what) {
  return Status::IOError(what + ": " + std::strerror(errno));
}

}  // namespace

// One epoll loop: accepts from the shared listener (EPOLLEXCLUSIVE, so a
// new connection wakes one loop) and deals the connections it accepts round
// robin over all loops (the first loop to wake used to accept a whole burst
// of connections and serve them alone); a connection then stays on its loop.
class LookupHttpServer::Loop {
 public:
  explicit Loop(LookupHttpServer* server) : server_(server) {}
  ~Loop() {
    for (auto& [fd, c] : conns_) ::close(fd);
    for (int fd : adopted_) ::close(fd);
    server_->connections_.fetch_sub(adopted_.size());
    if (wake_fd_ >= 0) ::close(wake_fd_);
    if (epoll_fd_ >= 0) ::close(epoll_fd_);
  }

  Status Start() {
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
      Run();
    });
    return Status::OK();
  }

  void Stop() {
    stopping_.store(true);
    Wake();
    if (thread_.joinable()) thread_.join();
  }

  // Hands this loop a connection another loop accepted (any thread).
  void Adopt(int fd) {
    {
      std::lock_guard lock(adopt_mu_);
      adopted_.push_back(fd);
    }
    Wake();
  }

 private:
  struct Connection {
    int fd = -1;
    std::string in;
    std::string out;
    size_t out_pos = 0;
    bool closing = false;  // close once out is sent
    uint32_t interest = 0;
  };

  void Run() {
    epoll_event events[128];
    while (!stopping_.load(std::memory_order_relaxed)) {
      const int n = ::epoll_wait(epoll_fd_, events, 128, -1);
      for (int i = 0; i < n; ++i) {
        void* tag = events[i].data.ptr;
        if (tag == &wake_tag_) {
          TakeAdopted();
          continue;
        }
        if (tag == &listen_tag_) {
          Accept();
        } else {
          Serve(static_cast<Connection*>(tag), events[i].events);
        }
      }
    }
  }

  void Accept() {
    while (true) {
      const int fd = ::accept4(server_->listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) return;  // EAGAIN: another loop took it, or none left
      if (server_->connections_.fetch_add(1) >= server_->options_.max_connections) {
        server_->connections_.fetch_sub(1);
        ::close(fd);
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

  void AddConnection(int fd) {
    auto c = std::make_unique<Connection>();
    c->fd = fd;
    Connection* raw = c.get();
    conns_[fd] = std::move(c);
    Watch(raw, EPOLLIN, EPOLL_CTL_ADD);
  }

  void Wake() {
    const uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(wake_fd_, &one, sizeof(one));
  }

  void TakeAdopted() {
    uint64_t count = 0;
    [[maybe_unused]] ssize_t n = ::read(wake_fd_, &count, sizeof(count));
    std::vector<int> fds;
    {
      std::lock_guard lock(adopt_mu_);
      fds.swap(adopted_);
    }
    for (int fd : fds) AddConnection(fd);
  }

  void Watch(Connection* c, uint32_t interest, int op) {
    if (op == EPOLL_CTL_MOD && interest == c->interest) return;
    epoll_event ev{};
    ev.events = interest;
    ev.data.ptr = c;
    ::epoll_ctl(epoll_fd_, op, c->fd, &ev);
    c->interest = interest;
  }

  void Close(Connection* c) {
    const int fd = c->fd;
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
    ::close(fd);
    conns_.erase(fd);
    server_->connections_.fetch_sub(1);
  }

  // Reads what is there; false when the peer closed or the socket failed.
  bool Read(Connection* c) {
    char buf[kReadChunk];
    while (true) {
      const ssize_t n = ::recv(c->fd, buf, sizeof(buf), 0);
      if (n > 0) {
        c->in.append(buf, static_cast<size_t>(n));
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

  // Sends what is pending; false when the socket failed.
  bool Flush(Connection* c) {
    while (c->out_pos < c->out.size()) {
      const ssize_t n = ::send(c->fd, c->out.data() + c->out_pos, c->out.size() - c->out_pos,
                               MSG_NOSIGNAL);
      if (n > 0) {
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

  // Answers the complete requests buffered in c->in (pipelined ones too).
  void Process(Connection* c) {
    size_t used = 0;
    while (!c->closing && c->out.size() - c->out_pos < kMaxPendingOut) {
      HttpRequestHead head;
      const std::string_view rest = std::string_view(c->in).substr(used);
      const auto parsed = HttpRequestHead::ParseFrom(rest, server_->options_.max_head_bytes, &head);
      if (parsed == HttpRequestHead::Parse::kIncomplete) break;
      if (parsed != HttpRequestHead::Parse::kOk) {
        const bool large = parsed == HttpRequestHead::Parse::kTooLarge;
        AppendResponse(large ? 431 : 400,
                       JsonErrorBody(large ? "request head too large" : "malformed request"),
                       false, true, false, &c->out);
        c->closing = true;
        break;
      }
      used += head.head_bytes;
      c->closing = !server_->Answer(head, &c->out);
    }
    c->in.erase(0, used);
  }

  void Serve(Connection* c, uint32_t events) {
    if ((events & (EPOLLIN | EPOLLERR | EPOLLHUP)) && !c->closing) {
      const bool open = Read(c);
      Process(c);
      if (!open && c->out_pos == c->out.size()) return Close(c);
      if (!open) c->closing = true;
    }
    if (!Flush(c)) return Close(c);
    if (c->out.empty()) Process(c);  // requests held back while answers were pending
    if (!Flush(c)) return Close(c);
    const bool pending = !c->out.empty();
    if (c->closing && !pending) return Close(c);
    uint32_t interest = pending ? static_cast<uint32_t>(EPOLLOUT) : 0u;
    if (!c->closing && (!pending || c->out.size() - c->out_pos < kMaxPendingOut)) {
      interest |= static_cast<uint32_t>(EPOLLIN);
    }
    Watch(c, interest, EPOLL_CTL_MOD);
  }

  LookupHttpServer* server_;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  char listen_tag_ = 0;
  char wake_tag_ = 0;
  std::atomic<bool> stopping_{false};
  std::unordered_map<int, std::unique_ptr<Connection>> conns_;
  std::mutex adopt_mu_;
  std::vector<int> adopted_;  // guarded by adopt_mu_
  std::thread thread_;
};

LookupHttpServer::LookupHttpServer(LookupServerOptions options) : options_(std::move(options)) {}

LookupHttpServer::~LookupHttpServer() { Stop(); }

void LookupHttpServer::AddPrefix(std::string prefix, LookupHandler handler) {
  routes_.push_back({std::move(prefix), std::move(handler)});
  std::sort(routes_.begin(), routes_.end(), [](const Route& a, const Route& b) {
    return a.prefix.size() > b.prefix.size();
  });
}

Status LookupHttpServer::Start() {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* found = nullptr;
  const std::string service = std::to_string(options_.port);
  if (::getaddrinfo(options_.host.c_str(), service.c_str(), &hints, &found) != 0 || !found) {
    return Status::InvalidArgument("lookup server: cannot resolve " + options_.host);
  }
  listen_fd_ = ::socket(found->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  if (listen_fd_ >= 0) ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  const bool bound = listen_fd_ >= 0 &&
                     ::bind(listen_fd_, found->ai_addr, found->ai_addrlen) == 0 &&
                     ::listen(listen_fd_, 1024) == 0;
  ::freeaddrinfo(found);
  if (!bound) {
    Status st = Errno("lookup server: cannot listen on " + options_.host + ":" + service);
    Stop();
    return st;
  }
  sockaddr_storage addr{};
  socklen_t len = sizeof(addr);
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port
                                           : reinterpret_cast<sockaddr_in*>(&addr)->sin_port);
  // All loops exist before any runs: a running loop deals connections to them.
  for (int i = 0; i < std::max(1, options_.threads); ++i) {
    loops_.push_back(std::make_unique<Loop>(this));
  }
  for (auto& loop : loops_) {
    Status st = loop->Start();
    if (!st.ok()) {
      Stop();
      return st;
    }
  }
  return Status::OK();
}

LookupHttpServer::Loop* LookupHttpServer::NextLoop() {
  return loops_[next_loop_.fetch_add(1, std::memory_order_relaxed) % loops_.size()].get();
}

void LookupHttpServer::Stop() {
  for (auto& loop : loops_) loop->Stop();
  loops_.clear();  // closes the connections
  if (listen_fd_ >= 0) ::close(listen_fd_);
  listen_fd_ = -1;
}

void LookupHttpServer::Dispatch(const HttpRequestHead& head, LookupReply* reply,
                                bool* unauthorized) const {
  if (head.path == "/healthz") {
    reply->body = "{\"status\":\"ok\"}";
    return;
  }
  const auto& tokens = options_.read_tokens;
  if (!tokens.empty() && head.path.starts_with("/v1/")) {
    const std::optional<std::string> param = head.Param("access_token");
    if (!TokenAllowed(head.authorization, param ? &*param : nullptr, tokens)) {
      *unauthorized = true;
      reply->status = 401;
      reply->body = JsonErrorBody(
          "a read token is required: 'Authorization: Bearer <read-token>' (or ?access_token=)");
      return;
    }
  }
  for (const Route& r : routes_) {
    if (!head.path.starts_with(r.prefix)) continue;
    const std::optional<std::string> rest = PercentDecode(head.path.substr(r.prefix.size()), false);
    if (!rest) {
      reply->status = 400;
      reply->body = JsonErrorBody("bad percent-encoding in the path");
      return;
    }
    return r.handler(*rest, head, reply);
  }
  reply->status = 404;
  reply->body = JsonErrorBody("no such lookup route (this port serves GET lookups only)");
}

bool LookupHttpServer::Answer(const HttpRequestHead& head, std::string* out) const {
  const bool head_only = head.method == "HEAD";
  if (head.has_body) {
    AppendResponse(400, JsonErrorBody("request bodies are not accepted here"), false, true, false,
                   out);
    return false;
  }
  if (head.method != "GET" && !head_only) {
    AppendResponse(405, JsonErrorBody("only GET lookups are served here"), false, !head.keep_alive,
                   false, out);
    return head.keep_alive;
  }
  LookupReply reply;
  bool unauthorized = false;
  Dispatch(head, &reply, &unauthorized);
  AppendResponse(reply.status, reply.body, head_only, !head.keep_alive, unauthorized, out);
  return head.keep_alive;
}

}  // namespace viewpipe
