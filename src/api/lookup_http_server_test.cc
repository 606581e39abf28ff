#include "api/lookup_http_server.h"
#include "api/raw_http_client.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <map>
#include <mutex>
#include <thread>

namespace viewpipe {
namespace {

std::string Body(const std::string& response) {
  const size_t end = response.find("\r\n\r\n");
  return end == std::string::npos ? std::string() : response.substr(end + 4);
}

class LookupHttpServerTest : public ::testing::Test {
 protected:
  void StartServer(std::vector<std::string> tokens = {}) {
    LookupServerOptions o;
    o.read_tokens = std::move(tokens);
    server_ = std::make_unique<LookupHttpServer>(o);
    server_->AddPrefix("/v1/echo/", [](std::string_view rest, const HttpRequestHead& head,
                                       LookupReply* reply) {
      if (rest == "missing") {
        reply->status = 404;
        reply->body = "{\"error\":\"unknown\"}";
        return;
      }
      reply->body = "{\"id\":\"" + std::string(rest) + "\",\"at\":\"" +
                    head.Param("at").value_or("") + "\"}";
    });
    server_->AddPrefix("/v1/echo/long/", [](std::string_view rest, const HttpRequestHead&,
                                            LookupReply* reply) {
      reply->body = "{\"long\":\"" + std::string(rest) + "\"}";
    });
    ASSERT_TRUE(server_->Start().ok());
    ASSERT_GT(server_->port(), 0);
  }
  std::unique_ptr<LookupHttpServer> server_;
};

TEST_F(LookupHttpServerTest, KeepAliveRequestsOnOneConnection) {
  StartServer();
  RawClient c(server_->port());
  ASSERT_TRUE(c.connected());
  for (int i = 0; i < 3; ++i) {
    c.Send("GET /v1/echo/p-" + std::to_string(i) + "?at=7 HTTP/1.1\r\nHost: x\r\n\r\n");
    const std::string r = c.Next();
    EXPECT_EQ(r.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << r;
    EXPECT_NE(r.find("Content-Type: application/json\r\n"), std::string::npos);
    EXPECT_EQ(Body(r), "{\"id\":\"p-" + std::to_string(i) + "\",\"at\":\"7\"}");
  }
  c.Send("GET /v1/echo/long/x%20y HTTP/1.1\r\n\r\n");  // longest prefix, percent-decoded
  EXPECT_EQ(Body(c.Next()), "{\"long\":\"x y\"}");
}

TEST_F(LookupHttpServerTest, PipelinedRequestsAnsweredInOrder) {
  StartServer();
  RawClient c(server_->port());
  std::string all;
  for (int i = 0; i < 200; ++i) all += "GET /v1/echo/" + std::to_string(i) + " HTTP/1.1\r\n\r\n";
  c.Send(all);
  for (int i = 0; i < 200; ++i) {
    EXPECT_EQ(Body(c.Next()), "{\"id\":\"" + std::to_string(i) + "\",\"at\":\"\"}");
  }
}

TEST_F(LookupHttpServerTest, ABigPipelinedBurstFromAClientThatReadsLateIsAnsweredInFull) {
  StartServer();
  RawClient c(server_->port());
  constexpr int kRequests = 30000;  // ~1 MB of requests, ~2 MB of answers: back-pressure
  std::string all;
  for (int i = 0; i < kRequests; ++i) {
    all += "GET /v1/echo/" + std::to_string(i) + " HTTP/1.1\r\n\r\n";
  }
  std::thread sender([&] { c.Send(all); });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // answers pile up unread
  int in_order = 0;
  for (int i = 0; i < kRequests; ++i) {
    const std::string r = c.Next();  // "" after 5 s without an answer
    if (r.empty()) break;
    in_order += Body(r) == "{\"id\":\"" + std::to_string(i) + "\",\"at\":\"\"}";
  }
  sender.join();
  // Regression: answers stopped for good at the ~17,000th when a round of
  // held-back requests was all sent at once (LookupHttpServer::Loop::Continue).
  EXPECT_EQ(in_order, kRequests);
}

TEST_F(LookupHttpServerTest, RequestSplitAcrossWrites) {
  StartServer();
  RawClient c(server_->port());
  c.Send("GET /v1/ec");
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  c.Send("ho/a HTTP/1.1\r\n");
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  c.Send("\r\n");
  EXPECT_EQ(Body(c.Next()), "{\"id\":\"a\",\"at\":\"\"}");
}

TEST_F(LookupHttpServerTest, ErrorsAndTheirConnections) {
  StartServer();
  RawClient c(server_->port());
  c.Send("GET /v1/echo/missing HTTP/1.1\r\n\r\n");
  EXPECT_EQ(c.Next().rfind("HTTP/1.1 404 ", 0), 0u);
  c.Send("GET /v1/other HTTP/1.1\r\n\r\n");
  std::string r = c.Next();
  EXPECT_EQ(r.rfind("HTTP/1.1 404 ", 0), 0u);
  EXPECT_NE(Body(r).find("\"error\""), std::string::npos);
  c.Send("GET /v1/echo/bad%zz HTTP/1.1\r\n\r\n");
  EXPECT_EQ(c.Next().rfind("HTTP/1.1 400 ", 0), 0u);
  c.Send("DELETE /v1/echo/a HTTP/1.1\r\n\r\n");
  EXPECT_EQ(c.Next().rfind("HTTP/1.1 405 ", 0), 0u);
  c.Send("GET /healthz HTTP/1.1\r\n\r\n");  // still open after all of those
  EXPECT_EQ(Body(c.Next()), "{\"status\":\"ok\"}");
  // A body cannot be skipped safely: 400, then the connection closes.
  c.Send("POST /v1/echo/a HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}");
  r = c.Next();
  EXPECT_EQ(r.rfind("HTTP/1.1 400 ", 0), 0u);
  EXPECT_NE(r.find("Connection: close"), std::string::npos);
  EXPECT_TRUE(c.PeerClosed());

  RawClient garbage(server_->port());
  garbage.Send("hello\r\n\r\n");
  EXPECT_EQ(garbage.Next().rfind("HTTP/1.1 400 ", 0), 0u);
  EXPECT_TRUE(garbage.PeerClosed());

  RawClient huge(server_->port());
  huge.Send("GET /v1/echo/a HTTP/1.1\r\nX: " + std::string(10000, 'a'));
  EXPECT_EQ(huge.Next().rfind("HTTP/1.1 431 ", 0), 0u);
  EXPECT_TRUE(huge.PeerClosed());

  RawClient closing(server_->port());
  closing.Send("GET /v1/echo/a HTTP/1.1\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(Body(closing.Next()), "{\"id\":\"a\",\"at\":\"\"}");
  EXPECT_TRUE(closing.PeerClosed());
}

TEST_F(LookupHttpServerTest, ReadTokensGuardV1PathsOnly) {
  StartServer({"tok"});
  RawClient c(server_->port());
  c.Send("GET /v1/echo/a HTTP/1.1\r\n\r\n");
  std::string r = c.Next();
  EXPECT_EQ(r.rfind("HTTP/1.1 401 ", 0), 0u);
  EXPECT_NE(r.find("WWW-Authenticate: Bearer"), std::string::npos);
  c.Send("GET /v1/echo/a HTTP/1.1\r\nAuthorization: Bearer nope\r\n\r\n");
  EXPECT_EQ(c.Next().rfind("HTTP/1.1 401 ", 0), 0u);
  c.Send("GET /v1/echo/a HTTP/1.1\r\nAuthorization: Bearer tok\r\n\r\n");
  EXPECT_EQ(c.Next().rfind("HTTP/1.1 200 ", 0), 0u);
  c.Send("GET /v1/echo/a?access_token=tok HTTP/1.1\r\n\r\n");
  EXPECT_EQ(c.Next().rfind("HTTP/1.1 200 ", 0), 0u);
  c.Send("GET /healthz HTTP/1.1\r\n\r\n");
  EXPECT_EQ(c.Next().rfind("HTTP/1.1 200 ", 0), 0u);
}

TEST_F(LookupHttpServerTest, ConcurrentKeepAliveClients) {
  StartServer();
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      httplib::Client client("127.0.0.1", server_->port());
      client.set_keep_alive(true);
      for (int i = 0; i < 200; ++i) {
        const std::string id = std::to_string(t) + "-" + std::to_string(i);
        auto res = client.Get("/v1/echo/" + id);
        if (res && res->status == 200 && res->body == "{\"id\":\"" + id + "\",\"at\":\"\"}") ++ok;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(ok.load(), 8 * 200);
}

// Connections are dealt round robin over the loops, whichever loop accepted
// them: four connections opened at once are served by both of two threads.
TEST(LookupHttpServerLoopsTest, ConnectionsSpreadOverTheLoops) {
  LookupServerOptions o;
  o.threads = 2;
  LookupHttpServer server(o);
  std::mutex mu;
  std::map<std::thread::id, int> served;  // loop thread -> requests
  server.AddPrefix("/v1/who/", [&](std::string_view, const HttpRequestHead&, LookupReply* r) {
    std::lock_guard lock(mu);
    ++served[std::this_thread::get_id()];
    r->body = "{}";
  });
  ASSERT_TRUE(server.Start().ok());
  std::vector<std::unique_ptr<RawClient>> clients;
  for (int i = 0; i < 4; ++i) clients.push_back(std::make_unique<RawClient>(server.port()));
  for (int round = 0; round < 3; ++round) {
    for (auto& c : clients) c->Send("GET /v1/who/x HTTP/1.1\r\n\r\n");
    for (auto& c : clients) ASSERT_FALSE(c->Next().empty());
  }
  std::lock_guard lock(mu);
  ASSERT_EQ(served.size(), 2u);
  for (const auto& [thread, n] : served) EXPECT_EQ(n, 6);  // two connections each, 3 rounds
}

TEST_F(LookupHttpServerTest, StopClosesConnectionsAndIsIdempotent) {
  StartServer();
  RawClient c(server_->port());
  c.Send("GET /healthz HTTP/1.1\r\n\r\n");
  EXPECT_FALSE(c.Next().empty());
  server_->Stop();
  EXPECT_TRUE(c.PeerClosed());
  server_->Stop();
  RawClient after(server_->port());
  EXPECT_FALSE(after.connected());
}

}  // namespace
}  // namespace viewpipe

namespace viewpipe {
namespace {

// The loops run with options.loop_sched: the handler, on a loop thread,
// reports the scheduling it runs with.
TEST(LookupHttpServerSchedTest, LoopsRunWithTheConfiguredSliceAndNice) {
  const int process_nice = CurrentThreadNice();
  LookupServerOptions o;
  o.loop_sched = {.nice_delta = 1, .slice_us = 250};
  LookupHttpServer server(o);
  server.AddPrefix("/sched", [](std::string_view, const HttpRequestHead&, LookupReply* reply) {
    auto slice = CurrentThreadSliceUs();
    reply->body = std::to_string(CurrentThreadNice()) + " " +
                  std::to_string(slice.ok() ? slice.value() : -1);
  });
  ASSERT_TRUE(server.Start().ok());
  RawClient c(server.port());
  c.Send("GET /sched HTTP/1.1\r\n\r\n");
  const std::string body = Body(c.Next());
  int nice = 0;
  long slice = 0;
  ASSERT_EQ(std::sscanf(body.c_str(), "%d %ld", &nice, &slice), 2) << body;
  EXPECT_EQ(nice, std::min(19, process_nice + 1));
  if (slice <= 0) GTEST_SKIP() << "kernel without custom EEVDF slices (6.12+)";
  EXPECT_EQ(slice, 250);
}

// fifo_priority > 0 puts the loops on SCHED_FIFO at that priority.
TEST(LookupHttpServerSchedTest, LoopsRunAtTheConfiguredFifoPriority) {
  {  // can this process use SCHED_FIFO at all? (CAP_SYS_NICE or RLIMIT_RTPRIO)
    std::atomic<int> rc{0};
    std::thread([&rc] {
      const sched_param p{.sched_priority = 3};
      rc = ::sched_setscheduler(0, SCHED_FIFO, &p);
    }).join();
    if (rc != 0) GTEST_SKIP() << "no permission for SCHED_FIFO here";
  }
  LookupServerOptions o;
  o.loop_sched = {.fifo_priority = 3};
  LookupHttpServer server(o);
  server.AddPrefix("/sched", [](std::string_view, const HttpRequestHead&, LookupReply* reply) {
    sched_param p{};
    const int policy = ::sched_getscheduler(0);
    ::sched_getparam(0, &p);
    reply->body = std::to_string(policy) + " " + std::to_string(p.sched_priority);
  });
  ASSERT_TRUE(server.Start().ok());
  RawClient c(server.port());
  c.Send("GET /sched HTTP/1.1\r\n\r\n");
  const std::string body = Body(c.Next());
  int policy = -1;
  int prio = -1;
  ASSERT_EQ(std::sscanf(body.c_str(), "%d %d", &policy, &prio), 2) << body;
  EXPECT_EQ(policy, SCHED_FIFO);
  EXPECT_EQ(prio, 3);
}

}  // namespace
}  // namespace viewpipe
