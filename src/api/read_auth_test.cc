#include "api/read_auth.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <thread>

namespace viewpipe {
namespace {

httplib::Request Req(std::string method, std::string path, std::string auth = "") {
  httplib::Request r;
  r.method = std::move(method);
  r.path = std::move(path);
  if (!auth.empty()) r.set_header("Authorization", auth);
  return r;
}

TEST(ReadAuthTest, NoTokensConfiguredAllowsEverything) {
  EXPECT_TRUE(ReadAllowed(Req("GET", "/v1/ops/concurrency"), {}));
}

TEST(ReadAuthTest, ReadPathsNeedAConfiguredToken) {
  const std::vector<std::string> tokens{"r1", "r2"};
  EXPECT_FALSE(ReadAllowed(Req("GET", "/v1/ops/concurrency"), tokens));
  EXPECT_FALSE(ReadAllowed(Req("POST", "/v1/query"), tokens));
  EXPECT_FALSE(ReadAllowed(Req("GET", "/v1/events"), tokens));  // only POST is the collector
  EXPECT_FALSE(ReadAllowed(Req("GET", "/v1/sre/alerts", "Bearer r3"), tokens));
  EXPECT_FALSE(ReadAllowed(Req("GET", "/v1/sre/alerts", "Bearer r"), tokens));   // a prefix
  EXPECT_FALSE(ReadAllowed(Req("GET", "/v1/sre/alerts", "Bearer r1x"), tokens));  // longer
  EXPECT_FALSE(ReadAllowed(Req("GET", "/v1/sre/alerts", "Bearer "), tokens));
  EXPECT_FALSE(ReadAllowed(Req("GET", "/v1/sre/alerts", "Basic r1"), tokens));
  EXPECT_TRUE(ReadAllowed(Req("GET", "/v1/sre/alerts", "Bearer r2"), tokens));
  httplib::Request sse = Req("GET", "/v1/ops/stream");
  sse.params.emplace("access_token", "r1");
  EXPECT_TRUE(ReadAllowed(sse, tokens));
  sse.params.clear();
  sse.params.emplace("access_token", "nope");
  EXPECT_FALSE(ReadAllowed(sse, tokens));
}

TEST(ReadAuthTest, CollectorProbesAndPageStayOpen) {
  const std::vector<std::string> tokens{"r1"};
  EXPECT_TRUE(ReadAllowed(Req("POST", "/v1/events"), tokens));  // write keys guard it
  EXPECT_TRUE(ReadAllowed(Req("GET", "/healthz"), tokens));
  EXPECT_TRUE(ReadAllowed(Req("GET", "/metrics"), tokens));
  EXPECT_TRUE(ReadAllowed(Req("GET", "/"), tokens));
  EXPECT_TRUE(ReadAllowed(Req("GET", "/app.js"), tokens));
}

TEST(ReadAuthTest, InstalledHandlerAnswers401BeforeTheRoute) {
  httplib::Server server;
  int calls = 0;
  server.Get("/v1/thing", [&](const httplib::Request&, httplib::Response& res) {
    ++calls;
    res.set_content("{}", "application/json");
  });
  InstallReadAuth(&server, {"secret"});
  const int port = server.bind_to_any_port("127.0.0.1");
  std::thread t([&] { server.listen_after_bind(); });
  httplib::Client c("127.0.0.1", port);
  auto denied = c.Get("/v1/thing");
  ASSERT_TRUE(denied);
  EXPECT_EQ(denied->status, 401);
  EXPECT_EQ(denied->get_header_value("WWW-Authenticate"), "Bearer");
  EXPECT_NE(denied->body.find("read token"), std::string::npos);
  EXPECT_EQ(calls, 0);
  auto ok = c.Get("/v1/thing", {{"Authorization", "Bearer secret"}});
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
  EXPECT_EQ(calls, 1);
  server.stop();
  t.join();
}

}  // namespace
}  // namespace viewpipe
