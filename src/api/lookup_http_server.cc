#include "api/lookup_http_server.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "api/http_response.h"
#include "api/json_error.h"
#include "api/lookup_http_loop.h"
#include "api/read_auth.h"

namespace viewpipe {

LookupHttpServer::LookupHttpServer(LookupServerOptions options) : options_(std::move(options)) {}

LookupHttpServer::~LookupHttpServer() { Stop(); }

void LookupHttpServer::AddBodyRoute(std::string path, const BodyRoute* route) {
  body_routes_.emplace_back(std::move(path), route);
}

const BodyRoute* LookupHttpServer::BodyRouteFor(const HttpRequestHead& head,
                                                int* route_id) const {
  if (head.method != "POST") return nullptr;
  for (size_t i = 0; i < body_routes_.size(); ++i) {
    if (head.path != body_routes_[i].first) continue;
    if (route_id != nullptr) *route_id = kFirstPrefixRoute + static_cast<int>(routes_.size() + i);
    return body_routes_[i].second;
  }
  return nullptr;
}

void LookupHttpServer::MakeMetrics() {
  std::vector<std::string> labels = {"other", "/healthz"};
  for (const Route& r : routes_) labels.push_back(r.prefix);
  for (const auto& [path, route] : body_routes_) labels.push_back(path);
  metrics_ = std::make_unique<HttpServerMetrics>(options_.metrics, options_.metrics_port,
                                                 std::move(labels));
}

bool LookupHttpServer::ReserveBodyBytes(size_t n) {
  size_t have = body_buffer_bytes_.load();
  do {
    if (have + n > options_.max_body_buffer_bytes) return false;
  } while (!body_buffer_bytes_.compare_exchange_weak(have, have + n));
  return true;
}

// The listener stays readable while a connection waits in its backlog; at
// EMFILE accept cannot take it, and a level-triggered loop would spin. So
// give up the spare descriptor, take the connection, close it, and take the
// spare back (a refused client sees its connection closed, as past
// max_connections).
bool LookupHttpServer::ShedOneConnection() {
  std::lock_guard lock(reserve_mu_);
  if (reserve_fd_ >= 0) ::close(reserve_fd_);
  const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
  if (fd >= 0) {
    metrics_->Rejected(HttpServerMetrics::RejectReason::kFdLimit);
    ::close(fd);  // after counting, as for max_connections
  }
  reserve_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  return fd >= 0;
}

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
    Status st = Status::IOError("lookup server: cannot listen on " + options_.host + ":" +
                                service + ": " + std::strerror(errno));
    Stop();
    return st;
  }
  sockaddr_storage addr{};
  socklen_t len = sizeof(addr);
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port
                                           : reinterpret_cast<sockaddr_in*>(&addr)->sin_port);
  MakeMetrics();
  reserve_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (!body_routes_.empty()) workers_.Start(std::max(1, options_.body_threads));
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
  workers_.Stop();  // first: a running job posts its reply to its loop
  for (auto& loop : loops_) loop->Stop();
  loops_.clear();  // closes the connections
  if (listen_fd_ >= 0) ::close(listen_fd_);
  listen_fd_ = -1;
  if (reserve_fd_ >= 0) ::close(reserve_fd_);
  reserve_fd_ = -1;
}

void LookupHttpServer::Dispatch(const HttpRequestHead& head, LookupReply* reply,
                                bool* unauthorized, int* route_id) const {
  if (head.path == "/healthz") {
    *route_id = kRouteHealth;
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
  for (size_t i = 0; i < routes_.size(); ++i) {
    const Route& r = routes_[i];
    if (!head.path.starts_with(r.prefix)) continue;
    *route_id = kFirstPrefixRoute + static_cast<int>(i);
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

bool LookupHttpServer::Answer(const HttpRequestHead& head, std::string* out,
                              RequestOutcome* outcome) const {
  RequestOutcome ignored;
  if (outcome == nullptr) outcome = &ignored;
  const bool head_only = head.method == "HEAD";
  if (head.has_body) {
    outcome->status = 400;
    AppendHttpResponse({.status = 400, .close = true},
                       JsonErrorBody("request bodies are not accepted here"), out);
    return false;
  }
  if (head.method != "GET" && !head_only) {
    outcome->status = 405;
    AppendHttpResponse({.status = 405, .close = !head.keep_alive},
                       JsonErrorBody("only GET lookups (and POST on a body route) are served here"), out);
    return head.keep_alive;
  }
  LookupReply reply;
  bool unauthorized = false;
  Dispatch(head, &reply, &unauthorized, &outcome->route);
  outcome->status = reply.status;
  AppendHttpResponse({.status = reply.status,
                      .head_only = head_only,
                      .close = !head.keep_alive,
                      .unauthorized = unauthorized},
                     reply.body, out);
  return head.keep_alive;
}

}  // namespace viewpipe
