// The event-loop server's body reader (POST body routes): split writes,
// pipelining, limits, slow and vanishing clients, a blocking handler that
// must not stall the loop.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "api/lookup_http_server.h"
#include "api/raw_http_client.h"

namespace viewpipe {
namespace {

using std::chrono::milliseconds;

// Echoes the body's size and a checksum; Admit refuses bodies over 1 MB
// (413) and requests without "Authorization: Bearer ok" (401). With
// block() set, Handle waits until release().
class EchoRoute final : public BodyRoute {
 public:
  bool Admit(const HttpRequestHead& head, LookupReply* reply) const override {
    if (head.authorization != "Bearer ok") {
      reply->status = 401;
      reply->body = "{\"error\":\"key\"}";
      return false;
    }
    if (head.content_length > (1u << 20)) {
      reply->status = 413;
      reply->body = "{\"error\":\"big\"}";
      return false;
    }
    return true;
  }
  void Handle(const BodyRequest& request, std::string_view body,
              LookupReply* reply) const override {
    {
      std::unique_lock lock(mu_);
      ++handled_;
      cv_.notify_all();
      cv_.wait(lock, [this] { return !blocked_; });
    }
    // The padding past the body is readable (and spaces).
    const bool padded = body.data()[body.size()] == ' ' &&
                        body.data()[body.size() + kBodyPadding - 1] == ' ';
    uint64_t sum = 0;
    for (unsigned char ch : body) sum = sum * 31 + ch;
    reply->body = "{\"size\":" + std::to_string(body.size()) + ",\"sum\":" + std::to_string(sum) +
                  ",\"type\":\"" + request.content_type + "\",\"padded\":" +
                  (padded ? "true" : "false") + "}";
    if (body == "busy") reply->retry_after_s = 3, reply->status = 503;
  }
  void block() { std::lock_guard lock(mu_); blocked_ = true; }
  void release() {
    std::lock_guard lock(mu_);
    blocked_ = false;
    cv_.notify_all();
  }
  int handled() const { std::lock_guard lock(mu_); return handled_; }
  bool WaitHandled(int n) const {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(5), [&] { return handled_ >= n; });
  }

 private:
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  mutable int handled_ = 0;
  bool blocked_ = false;
};

std::string Payload(size_t n, char seed) {
  std::string s(n, ' ');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + (i * 7 + seed) % 26);
  return s;
}

std::string Expected(const std::string& body, const std::string& type = "application/json") {
  uint64_t sum = 0;
  for (unsigned char ch : body) sum = sum * 31 + ch;
  return "{\"size\":" + std::to_string(body.size()) + ",\"sum\":" + std::to_string(sum) +
         ",\"type\":\"" + type + "\",\"padded\":true}";
}

std::string Post(const std::string& body, const std::string& extra = "") {
  return "POST /v1/events HTTP/1.1\r\nAuthorization: Bearer ok\r\n"
         "Content-Type: application/json\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n" + extra + "\r\n" + body;
}

std::string BodyOf(const std::string& response) {
  return response.substr(response.find("\r\n\r\n") + 4);
}

class LookupHttpBodyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    LookupServerOptions o;
    o.threads = 1;  // one loop: a blocked handler would stall everything if it ran there
    o.body_threads = 4;
    server_ = std::make_unique<LookupHttpServer>(o);
    server_->AddPrefix("/v1/ping", [](std::string_view, const HttpRequestHead&, LookupReply* r) {
      r->body = "{\"pong\":true}";
    });
    server_->AddBodyRoute("/v1/events", &route_);
    ASSERT_TRUE(server_->Start().ok());
  }
  EchoRoute route_;
  std::unique_ptr<LookupHttpServer> server_;
};

TEST_F(LookupHttpBodyTest, BodySplitAcrossManyWritesArrivesWhole) {
  RawClient c(server_->port());
  const std::string body = Payload(190000, 1);
  const std::string req = Post(body);
  // The head alone, then the head's end with a little body, then uneven pieces.
  size_t at = 0;
  for (size_t piece : {size_t{20}, req.find("\r\n\r\n") + 10 - 20, size_t{1}, size_t{70000},
                       size_t{3}, size_t{50000}}) {
    c.Send(req.substr(at, piece));
    at += piece;
    std::this_thread::sleep_for(milliseconds(5));
  }
  c.Send(req.substr(at));
  const std::string r = c.Next();
  EXPECT_EQ(r.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << r;
  EXPECT_EQ(BodyOf(r), Expected(body));
}

TEST_F(LookupHttpBodyTest, PipelinedPostsAndGetsAnsweredInOrderOnOneConnection) {
  RawClient c(server_->port());
  const std::string a = Payload(300000, 2), b = Payload(10, 3), d = Payload(2 << 20 >> 1, 4);
  c.Send(Post(a) + "GET /v1/ping HTTP/1.1\r\n\r\n" + Post(b) + Post(d) + Post(""));
  EXPECT_EQ(BodyOf(c.Next()), Expected(a));
  EXPECT_EQ(BodyOf(c.Next()), "{\"pong\":true}");
  EXPECT_EQ(BodyOf(c.Next()), Expected(b));
  EXPECT_EQ(BodyOf(c.Next()), Expected(d));  // exactly at the route's limit
  EXPECT_EQ(BodyOf(c.Next()), Expected(""));
  // Keep-alive: the same connection takes more, of other sizes (buffer reuse).
  for (size_t n : {size_t{5}, size_t{400000}, size_t{1000}}) {
    const std::string body = Payload(n, 5);
    c.Send(Post(body));
    EXPECT_EQ(BodyOf(c.Next()), Expected(body)) << n;
  }
  EXPECT_EQ(route_.handled(), 7);
}

TEST_F(LookupHttpBodyTest, TooLargeOrUnauthorizedIsRefusedBeforeTheBodyAndCloses) {
  {
    RawClient c(server_->port());
    c.Send("POST /v1/events HTTP/1.1\r\nAuthorization: Bearer ok\r\nContent-Length: 1048577\r\n\r\n");
    const std::string r = c.Next();
    EXPECT_EQ(r.rfind("HTTP/1.1 413 ", 0), 0u) << r;
    EXPECT_NE(r.find("Connection: close\r\n"), std::string::npos) << r;
    EXPECT_EQ(BodyOf(r), "{\"error\":\"big\"}");
    EXPECT_TRUE(c.PeerClosed());
  }
  {
    RawClient c(server_->port());
    c.Send("POST /v1/events HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello");
    const std::string r = c.Next();
    EXPECT_EQ(r.rfind("HTTP/1.1 401 ", 0), 0u) << r;
    EXPECT_TRUE(c.PeerClosed());
  }
  {  // over the server's own cap, whatever the route would say
    RawClient c(server_->port());
    c.Send("POST /v1/events HTTP/1.1\r\nAuthorization: Bearer ok\r\n"
           "Content-Length: 99999999999\r\n\r\n");
    EXPECT_EQ(c.Next().rfind("HTTP/1.1 413 ", 0), 0u);
  }
  {  // a body on a GET route is still a 400
    RawClient c(server_->port());
    c.Send("POST /v1/ping HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}");
    EXPECT_EQ(c.Next().rfind("HTTP/1.1 400 ", 0), 0u);
  }
  EXPECT_EQ(route_.handled(), 0);
}

TEST_F(LookupHttpBodyTest, SlowClientDoesNotHoldUpOthers) {
  RawClient slow(server_->port());
  const std::string body = Payload(100000, 6);
  const std::string req = Post(body);
  RawClient fast(server_->port());
  for (size_t at = 0; at < req.size(); at += 5000) {
    slow.Send(req.substr(at, 5000));
    fast.Send("GET /v1/ping HTTP/1.1\r\n\r\n");
    EXPECT_EQ(BodyOf(fast.Next()), "{\"pong\":true}");
    std::this_thread::sleep_for(milliseconds(2));
  }
  EXPECT_EQ(BodyOf(slow.Next()), Expected(body));
}

TEST_F(LookupHttpBodyTest, ClientGoneMidBodyIsNeverHandled) {
  for (int i = 0; i < 20; ++i) {
    RawClient c(server_->port());
    const std::string req = Post(Payload(200000, 7));
    c.Send(req.substr(0, req.size() / 2 + i * 1000));
    std::this_thread::sleep_for(milliseconds(2));
  }  // closed with half a body
  RawClient after(server_->port());
  const std::string body = Payload(1234, 8);
  after.Send(Post(body));
  EXPECT_EQ(BodyOf(after.Next()), Expected(body));
  EXPECT_EQ(route_.handled(), 1);
}

TEST_F(LookupHttpBodyTest, ABlockedHandlerDoesNotStallTheLoopAndItsReplyComesBack) {
  route_.block();
  RawClient poster(server_->port());
  poster.Send(Post("busy"));
  ASSERT_TRUE(route_.WaitHandled(1));
  RawClient other(server_->port());  // same (only) loop
  for (int i = 0; i < 5; ++i) {
    other.Send("GET /v1/ping HTTP/1.1\r\n\r\n");
    EXPECT_EQ(BodyOf(other.Next()), "{\"pong\":true}");
  }
  route_.release();
  const std::string r = poster.Next();
  EXPECT_EQ(r.rfind("HTTP/1.1 503 ", 0), 0u) << r;
  EXPECT_NE(r.find("Retry-After: 3\r\n"), std::string::npos) << r;
}

TEST_F(LookupHttpBodyTest, ClientGoneWhileItsBodyIsHandledAndStopWithAJobRunning) {
  route_.block();
  {
    RawClient c(server_->port());
    c.Send(Post(Payload(50000, 9)));
    ASSERT_TRUE(route_.WaitHandled(1));
  }  // closed while its worker runs
  std::thread releaser([this] {
    std::this_thread::sleep_for(milliseconds(100));
    route_.release();
  });
  RawClient c2(server_->port());
  c2.Send(Post("x"));
  EXPECT_EQ(BodyOf(c2.Next()), Expected("x"));
  releaser.join();
  RawClient c3(server_->port());
  route_.block();
  c3.Send(Post("y"));
  ASSERT_TRUE(route_.WaitHandled(3));
  std::thread releaser2([this] {
    std::this_thread::sleep_for(milliseconds(100));
    route_.release();
  });
  server_->Stop();  // waits for the running job
  releaser2.join();
}

TEST_F(LookupHttpBodyTest, ExpectContinueGetsA100ThenTheAnswer) {
  RawClient c(server_->port());
  const std::string body = Payload(5000, 10);
  const std::string req = Post(body, "Expect: 100-continue\r\n");
  c.Send(req.substr(0, req.size() - body.size()));  // the head only: wait for 100
  char buf[64] = {};
  ASSERT_EQ(::recv(c.fd(), buf, 25, MSG_WAITALL), 25);
  EXPECT_EQ(std::string(buf, 25), "HTTP/1.1 100 Continue\r\n\r\n");
  c.Send(body);
  EXPECT_EQ(BodyOf(c.Next()), Expected(body));
}

TEST_F(LookupHttpBodyTest, ConnectionCloseAndHttp10AreHonouredAfterAPost) {
  RawClient c(server_->port());
  c.Send(Post("abc", "Connection: close\r\n"));
  const std::string r = c.Next();
  EXPECT_EQ(BodyOf(r), Expected("abc"));
  EXPECT_NE(r.find("Connection: close\r\n"), std::string::npos);
  EXPECT_TRUE(c.PeerClosed());
}

}  // namespace
}  // namespace viewpipe
