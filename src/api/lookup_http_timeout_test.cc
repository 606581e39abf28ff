// The event-loop server's timeouts, limits and metrics, over real sockets:
// an idle keep-alive connection, a half-sent body and a trickled head are
// closed on time; connection and body-memory limits; the HTTP metrics.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "api/lookup_http_server.h"
#include "api/raw_http_client.h"
#include "common/metrics.h"

namespace viewpipe {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

// Answers a body with its size (503 + Retry-After for "busy"); refuses
// requests without "Authorization: Bearer ok" (401).
class SizeRoute final : public BodyRoute {
 public:
  bool Admit(const HttpRequestHead& head, LookupReply* reply) const override {
    if (head.authorization == "Bearer ok") return true;
    reply->status = 401;
    reply->body = "{\"error\":\"key\"}";
    return false;
  }
  void Handle(const BodyRequest&, std::string_view body, LookupReply* reply) const override {
    handled_.fetch_add(1);
    reply->body = "{\"size\":" + std::to_string(body.size()) + "}";
    if (body == "busy") reply->status = 503, reply->retry_after_s = 2;
  }
  int handled() const { return handled_.load(); }

 private:
  mutable std::atomic<int> handled_{0};
};

std::string KeyedPost(const std::string& body, const std::string& key = "ok") {
  return "POST /v1/events HTTP/1.1\r\nAuthorization: Bearer " + key +
         "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

const char kGet[] = "GET /v1/ping HTTP/1.1\r\nHost: x\r\n\r\n";

double SecondsSince(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

class LookupHttpTimeoutTest : public ::testing::Test {
 protected:
  void Start(LookupServerOptions o) {
    o.threads = 1;
    o.body_threads = 2;
    o.metrics = &metrics_;
    o.metrics_port = "test";
    server_ = std::make_unique<LookupHttpServer>(o);
    server_->AddPrefix("/v1/ping", [](std::string_view, const HttpRequestHead&, LookupReply* r) {
      r->body = "{\"pong\":true}";
    });
    server_->AddBodyRoute("/v1/events", &route_);
    ASSERT_TRUE(server_->Start().ok());
  }
  static LookupServerOptions Timeouts(int idle_ms, int read_ms, int write_ms = 5000) {
    LookupServerOptions o;
    o.idle_timeout = milliseconds(idle_ms);
    o.read_timeout = milliseconds(read_ms);
    o.write_timeout = milliseconds(write_ms);
    return o;
  }
  uint64_t Requests(const std::string& route, int status) {
    return metrics_
        .GetCounter("viewpipe_http_requests_total", "",
                    {{"port", "test"}, {"route", route}, {"status", std::to_string(status)}})
        ->Value();
  }
  uint64_t Closed(const std::string& reason) {
    return metrics_
        .GetCounter("viewpipe_http_connections_closed_total", "",
                    {{"port", "test"}, {"reason", reason}})
        ->Value();
  }
  uint64_t Counter(const std::string& name, Labels labels = {{"port", "test"}}) {
    return metrics_.GetCounter(name, "", labels)->Value();
  }
  double OpenConnections() {
    return metrics_.GetGauge("viewpipe_http_open_connections", "", {{"port", "test"}})->Value();
  }
  // Waits up to 3 s for cond.
  static bool Eventually(const std::function<bool()>& cond) {
    const auto deadline = Clock::now() + std::chrono::seconds(3);
    while (!cond()) {
      if (Clock::now() > deadline) return false;
      std::this_thread::sleep_for(milliseconds(5));
    }
    return true;
  }

  MetricsRegistry metrics_;
  SizeRoute route_;
  std::unique_ptr<LookupHttpServer> server_;
};

TEST_F(LookupHttpTimeoutTest, IdleKeepAliveConnectionIsClosedAfterTheIdleTimeout) {
  Start(Timeouts(/*idle_ms=*/300, /*read_ms=*/10000));
  RawClient c(server_->port());
  // Requests 100 ms apart keep it open past the idle timeout...
  for (int i = 0; i < 5; ++i) {
    c.Send(kGet);
    EXPECT_EQ(c.Next().rfind("HTTP/1.1 200", 0), 0u);
    std::this_thread::sleep_for(milliseconds(100));
  }
  // ...then silence closes it, not before the timeout and well before RawClient's 5 s.
  const auto t0 = Clock::now();
  EXPECT_TRUE(c.PeerClosed());
  const double waited = SecondsSince(t0);
  EXPECT_GE(waited, 0.15);  // 300 ms after the last answer, which came ~100 ms before t0
  EXPECT_LT(waited, 2.0);
  EXPECT_EQ(Closed("idle"), 1u);
  EXPECT_EQ(Closed("read_timeout"), 0u);
  EXPECT_TRUE(Eventually([&] { return OpenConnections() == 0; }));
}

TEST_F(LookupHttpTimeoutTest, ConnectionThatNeverSendsIsClosedAfterTheIdleTimeout) {
  Start(Timeouts(200, 10000));
  RawClient c(server_->port());
  const auto t0 = Clock::now();
  EXPECT_TRUE(c.PeerClosed());
  EXPECT_GE(SecondsSince(t0), 0.18);
  EXPECT_LT(SecondsSince(t0), 2.0);
  EXPECT_EQ(Closed("idle"), 1u);
}

TEST_F(LookupHttpTimeoutTest, HalfSentBodyGets408AndIsClosedAfterTheReadTimeout) {
  Start(Timeouts(/*idle_ms=*/10000, /*read_ms=*/400));
  RawClient c(server_->port());
  const std::string req = KeyedPost(std::string(1000, 'x'));
  const auto t0 = Clock::now();
  c.Send(req.substr(0, req.size() - 500));  // the head and half the body, then nothing
  const std::string r = c.Next();
  EXPECT_EQ(r.rfind("HTTP/1.1 408", 0), 0u) << r;
  EXPECT_TRUE(c.PeerClosed());
  EXPECT_GE(SecondsSince(t0), 0.38);
  EXPECT_LT(SecondsSince(t0), 2.0);
  EXPECT_EQ(route_.handled(), 0);  // never handed to the route
  EXPECT_EQ(Closed("read_timeout"), 1u);
  EXPECT_EQ(Requests("/v1/events", 408), 1u);
  // The server still serves.
  RawClient d(server_->port());
  d.Send(KeyedPost("abc"));
  EXPECT_EQ(d.Next().rfind("HTTP/1.1 200", 0), 0u);
}

TEST_F(LookupHttpTimeoutTest, TrickledHeadIsClosedAfterTheReadTimeoutDespiteActivity) {
  Start(Timeouts(/*idle_ms=*/10000, /*read_ms=*/400));
  RawClient c(server_->port());
  const std::string head = "GET /v1/ping HTTP/1.1\r\nX-Slow: " + std::string(200, 'a');
  const auto t0 = Clock::now();
  size_t sent = 0;
  // A byte every 20 ms: each recv is recent, but the request never completes.
  while (sent < head.size() && SecondsSince(t0) < 3.0) {
    c.SendMaybe(head.substr(sent++, 1));
    if (Closed("read_timeout") == 1) break;
    std::this_thread::sleep_for(milliseconds(20));
  }
  EXPECT_EQ(Closed("read_timeout"), 1u);
  EXPECT_GE(SecondsSince(t0), 0.38);
  EXPECT_LT(SecondsSince(t0), 2.0);
  EXPECT_EQ(Requests("other", 408), 1u);
}

// The loop closes expired connections between its epoll_wait and the events
// it got: a connection closed there must not be served from that batch (a
// use after free that AddressSanitizer caught once in CI). Many connections
// trickle bytes while their read timeout runs out, so that expiries and
// pending events meet in the same turn of the loop, again and again.
TEST_F(LookupHttpTimeoutTest, ConnectionsExpiringWhileTheirBytesArriveAreClosedSafely) {
  Start(Timeouts(/*idle_ms=*/10000, /*read_ms=*/30));  // swept every 7 ms
  const std::string head = "GET /v1/ping HTTP/1.1\r\nX-Slow: ";
  std::vector<std::unique_ptr<RawClient>> clients;
  for (int i = 0; i < 48; ++i) clients.push_back(std::make_unique<RawClient>(server_->port()));
  size_t opened = clients.size();
  const auto t0 = Clock::now();
  while (SecondsSince(t0) < 1.5) {
    for (auto& c : clients) {
      if (::send(c->fd(), "a", 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {  // closed: a new one
        c = std::make_unique<RawClient>(server_->port());
        c->SendMaybe(head);
        ++opened;
      }
    }
    std::this_thread::sleep_for(std::chrono::microseconds(500));
  }
  // Every connection expires and is counted once, and the loop still serves.
  EXPECT_GT(Closed("read_timeout"), 48u);
  EXPECT_TRUE(Eventually([&] { return Closed("read_timeout") == opened; })) << opened;
  RawClient d(server_->port());
  d.Send(kGet);
  EXPECT_EQ(d.Next().rfind("HTTP/1.1 200", 0), 0u);
}

TEST_F(LookupHttpTimeoutTest, ClientThatReadsNoAnswersIsClosedAfterTheWriteTimeout) {
  Start(Timeouts(10000, 10000, /*write_ms=*/300));
  RawClient c(server_->port());
  int small = 4096;  // a small receive buffer fills fast
  ::setsockopt(c.fd(), SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
  std::string many;
  for (int i = 0; i < 2000; ++i) many += kGet;
  // Pipelined requests whose answers the client never reads.
  for (int i = 0; i < 40 && Closed("write_timeout") == 0; ++i) {
    c.SendMaybe(many);
    std::this_thread::sleep_for(milliseconds(10));
  }
  EXPECT_TRUE(Eventually([&] { return Closed("write_timeout") == 1; }));
  EXPECT_EQ(Closed("idle") + Closed("read_timeout"), 0u);
}

TEST_F(LookupHttpTimeoutTest, MetricsCountRequestsByRouteAndStatusAndBytes) {
  Start(Timeouts(10000, 10000));
  RawClient c(server_->port());
  size_t sent = 0;
  auto send = [&](RawClient& to, const std::string& s) {
    to.Send(s);
    sent += s.size();
  };
  send(c, kGet);
  send(c, kGet);
  send(c, "GET /nope HTTP/1.1\r\n\r\n");
  send(c, "GET /healthz HTTP/1.1\r\n\r\n");
  send(c, KeyedPost("hello"));
  send(c, KeyedPost("busy"));
  for (int i = 0; i < 6; ++i) EXPECT_FALSE(c.Next().empty());
  RawClient refused(server_->port());
  send(refused, KeyedPost("x", "wrong"));
  EXPECT_EQ(refused.Next().rfind("HTTP/1.1 401", 0), 0u);
  EXPECT_EQ(Requests("/v1/ping", 200), 2u);
  EXPECT_EQ(Requests("other", 404), 1u);
  EXPECT_EQ(Requests("/healthz", 200), 1u);
  EXPECT_EQ(Requests("/v1/events", 200), 1u);
  EXPECT_EQ(Requests("/v1/events", 503), 1u);
  EXPECT_EQ(Requests("/v1/events", 401), 1u);
  EXPECT_EQ(Counter("viewpipe_http_received_bytes_total"), sent);
  EXPECT_GT(Counter("viewpipe_http_sent_bytes_total"), 7u * 60);
  EXPECT_TRUE(Eventually([&] { return OpenConnections() == 1; }));  // the 401 closed its own
  Histogram* h = metrics_.GetHistogram("viewpipe_http_request_seconds", "", {},
                                       {{"port", "test"}, {"route", "/v1/events"}});
  EXPECT_EQ(h->Count(), 3u);
  const std::string text = metrics_.RenderPrometheus();
  EXPECT_NE(text.find("viewpipe_http_requests_total{port=\"test\",route=\"/v1/ping\","
                      "status=\"200\"} 2\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("# TYPE viewpipe_http_request_seconds histogram"), std::string::npos);
}

TEST_F(LookupHttpTimeoutTest, ConnectionsOverTheLimitAreClosedAtAccept) {
  LookupServerOptions o = Timeouts(10000, 10000);
  o.max_connections = 2;
  Start(o);
  RawClient a(server_->port()), b(server_->port());
  a.Send(kGet);
  b.Send(kGet);
  EXPECT_FALSE(a.Next().empty());
  EXPECT_FALSE(b.Next().empty());
  RawClient over(server_->port());
  EXPECT_TRUE(over.PeerClosed());
  EXPECT_EQ(Counter("viewpipe_http_connections_rejected_total",
                    {{"port", "test"}, {"reason", "max_connections"}}),
            1u);
  a.Close();  // frees a place
  EXPECT_TRUE(Eventually([&] { return OpenConnections() == 1; }));
  RawClient again(server_->port());
  again.Send(kGet);
  EXPECT_EQ(again.Next().rfind("HTTP/1.1 200", 0), 0u);
}

TEST_F(LookupHttpTimeoutTest, BodiesOverTheMemoryBudgetGet503UntilOneIsFreed) {
  LookupServerOptions o = Timeouts(10000, 10000);
  o.max_body_buffer_bytes = 1500;
  Start(o);
  const std::string req = KeyedPost(std::string(1000, 'y'));
  RawClient holder(server_->port());
  holder.Send(req.substr(0, req.size() - 10));  // holds a 1000-byte buffer, unfinished
  std::this_thread::sleep_for(milliseconds(100));
  RawClient second(server_->port());
  second.Send(req);
  const std::string r = second.Next();
  EXPECT_EQ(r.rfind("HTTP/1.1 503", 0), 0u) << r;
  EXPECT_NE(r.find("Retry-After: 1\r\n"), std::string::npos) << r;
  EXPECT_TRUE(second.PeerClosed());
  holder.Close();  // its buffer goes back to the budget
  EXPECT_TRUE(Eventually([&] { return OpenConnections() == 0; }));
  RawClient third(server_->port());
  third.Send(req);
  EXPECT_EQ(third.Next().rfind("HTTP/1.1 200", 0), 0u);
  EXPECT_EQ(route_.handled(), 1);
}

}  // namespace
}  // namespace viewpipe
