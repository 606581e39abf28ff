#include "ops/ops_routes.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <thread>

#include "ops/ops_test_util.h"

namespace viewpipe::ops {
namespace {

using testing::TestEvent;

using testing::kB;
using testing::kMs;

class OpsRoutesTest : public ::testing::Test {
 protected:
  OpsRoutesTest() : state_(TrackerOptions()), routes_(&state_, 1, &metrics_) {
    routes_.Register(&server_);
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~OpsRoutesTest() override {
    routes_.Stop();
    server_.stop();
    thread_.join();
  }
  httplib::Result Get(const std::string& path) {
    httplib::Client c("127.0.0.1", port_);
    return c.Get(path);
  }
  void Apply(const std::string& session, EventType type, int64_t ts, const std::string& country) {
    TestEvent e;
    e.session = session;
    e.type = type;
    e.ts = ts;
    e.country = country;
    state_.Write([&](SessionTracker& t) { t.Apply(e.View()); });
  }
  void Advance(int64_t w) {
    state_.Write([&](SessionTracker& t) { t.AdvanceWatermark(w); });
    state_.Publish();
  }
  // Three sessions at kMs (DE, DE, US), live at second kB+10.
  void Populate() {
    Apply("a", EventType::kAttempt, kMs, "DE");
    Apply("b", EventType::kAttempt, kMs + 100, "DE");
    Apply("c", EventType::kPlayStart, kMs + 200, "US");
    Advance(kMs + 11000 + 200);
  }
  void ExpectError(const std::string& path, int status, const std::string& part) {
    auto r = Get(path);
    ASSERT_TRUE(r) << path;
    EXPECT_EQ(r->status, status) << path << ": " << r->body;
    EXPECT_NE(r->body.find("\"error\":"), std::string::npos) << r->body;
    EXPECT_NE(r->body.find(part), std::string::npos) << path << ": " << r->body;
  }

  MetricsRegistry metrics_;
  OpsState state_;
  OpsRoutes routes_;
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
};

TEST_F(OpsRoutesTest, BeforeTheFirstEventLiveReadsAre503) {
  ExpectError("/v1/ops/concurrency", 503, "no events yet");
  ExpectError("/v1/ops/concurrency?at=5", 503, "no events yet");
  ExpectError("/v1/ops/concurrency/series", 503, "no events yet");
}

TEST_F(OpsRoutesTest, ConcurrencyOfTheNewestCompleteSecond) {
  Populate();
  auto r = Get("/v1/ops/concurrency");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "{\"as_of\":" + std::to_string((kB + 10) * 1000) + ",\"total\":3}");
  r = Get("/v1/ops/concurrency?by=country");
  EXPECT_EQ(r->body, "{\"as_of\":" + std::to_string((kB + 10) * 1000) +
                         ",\"total\":3,\"by\":\"country\",\"groups\":["
                         "{\"key\":\"DE\",\"viewers\":2},"
                         "{\"key\":\"US\",\"viewers\":1}]}");
  r = Get("/v1/ops/concurrency?by=country&top=1");
  EXPECT_NE(r->body.find("\"groups\":[{\"key\":\"DE\",\"viewers\":2}]"), std::string::npos);
}

TEST_F(OpsRoutesTest, ConcurrencyAtAPastSecond) {
  Populate();
  Apply("d", EventType::kAttempt, kMs + 5000, "FR");
  Advance(kMs + 60000);
  auto r = Get("/v1/ops/concurrency?by=country&at=" + std::to_string(kMs + 7777));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "{\"as_of\":" + std::to_string((kB + 7) * 1000) +
                         ",\"total\":4,\"by\":\"country\",\"groups\":["
                         "{\"key\":\"DE\",\"viewers\":2},"
                         "{\"key\":\"FR\",\"viewers\":1},{\"key\":\"US\",\"viewers\":1}]}");
  r = Get("/v1/ops/concurrency?at=" + std::to_string(kMs + 45000));
  EXPECT_EQ(r->body, "{\"as_of\":" + std::to_string((kB + 45) * 1000) + ",\"total\":0}");
}

// live=1 shows the running second: an event of the second the watermark is
// in counts before that second is complete; the default still waits.
TEST_F(OpsRoutesTest, LiveShowsTheRunningSecond) {
  Populate();  // watermark kMs + 11200: second kB+11 is running, kB+10 complete
  Apply("d", EventType::kAttempt, kMs + 11100, "FR");
  auto complete = Get("/v1/ops/concurrency");
  ASSERT_TRUE(complete);
  EXPECT_EQ(complete->body, "{\"as_of\":" + std::to_string((kB + 10) * 1000) + ",\"total\":3}");
  auto live = Get("/v1/ops/concurrency?live=1&by=country");
  ASSERT_TRUE(live);
  EXPECT_EQ(live->status, 200) << live->body;
  EXPECT_EQ(live->body, "{\"as_of\":" + std::to_string((kB + 11) * 1000) +
                            ",\"total\":4,\"by\":\"country\",\"groups\":[{\"key\":\"DE\","
                            "\"viewers\":2},{\"key\":\"FR\",\"viewers\":1},{\"key\":\"US\","
                            "\"viewers\":1}],\"complete\":false}");
  // A stop in the running second ends the session at once in the live view.
  Apply("a", EventType::kStop, kMs + 11150, "DE");
  live = Get("/v1/ops/concurrency?live=1");
  ASSERT_TRUE(live);
  EXPECT_NE(live->body.find("\"total\":3,"), std::string::npos) << live->body;
  ExpectError("/v1/ops/concurrency?live=2", 400, "live must be 0 or 1");
  ExpectError("/v1/ops/concurrency?live=1&at=5", 400, "exclude each other");
}

TEST_F(OpsRoutesTest, BadInputIs400WithAReason) {
  Populate();
  ExpectError("/v1/ops/concurrency?by=genre", 400, "unknown by 'genre'");
  ExpectError("/v1/ops/concurrency?by=", 400, "unknown by");
  ExpectError("/v1/ops/concurrency?top=ten", 400, "top must be an integer");
  ExpectError("/v1/ops/concurrency?top=-1", 400, "top must be at least 0");
  ExpectError("/v1/ops/concurrency?at=yesterday", 400, "at must be an integer");
  ExpectError("/v1/ops/concurrency?at=12.5", 400, "at must be an integer");
  ExpectError("/v1/ops/concurrency?at=" + std::to_string(kMs + 60000), 400, "outside the kept");
  ExpectError("/v1/ops/concurrency?at=" + std::to_string(kMs - 3600 * 1000), 400, "outside");
  ExpectError("/v1/ops/concurrency/series?by=cdn", 400, "by needs a key");
  ExpectError("/v1/ops/concurrency/series?by=isp&key=x", 400, "unknown by 'isp'");
  ExpectError("/v1/ops/concurrency/series?from=x", 400, "from must be an integer");
  ExpectError("/v1/ops/concurrency/series?to=1e9", 400, "to must be an integer");
  ExpectError("/v1/ops/concurrency/series?step=1500", 400, "multiple of 1000");
  ExpectError("/v1/ops/concurrency/series?step=10", 400, "step must be at least 1000");
  ExpectError("/v1/ops/concurrency/series?from=20&to=10", 400, "from is after to");
  ExpectError("/v1/ops/concurrency/series?to=" + std::to_string(kMs - 3600 * 1000), 400,
              "outside the kept series");
  // A day and more of history at 1 s is over the point limit.
  Advance(kMs + 27 * 3600 * 1000LL);
  ExpectError("/v1/ops/concurrency/series?from=0&to=" + std::to_string(kMs + 27 * 3600 * 1000LL),
              400, "too many points");
}

TEST_F(OpsRoutesTest, SeriesOfTheTotalAndOfAKey) {
  Populate();
  Apply("d", EventType::kAttempt, kMs + 5000, "FR");
  Advance(kMs + 60000);
  auto r = Get("/v1/ops/concurrency/series?from=" + std::to_string(kMs - 1000) +
               "&to=" + std::to_string(kMs + 36999) + "&step=5000");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  auto ms = [](int64_t s) { return std::to_string((kB + s) * 1000); };
  EXPECT_EQ(r->body, "{\"from\":" + ms(-1) + ",\"to\":" + ms(36) + ",\"step\":5000,\"points\":[[" +
                         ms(-1) + ",0],[" + ms(4) + ",3],[" + ms(9) + ",4],[" + ms(14) + ",4],[" +
                         ms(19) + ",4],[" + ms(24) + ",4],[" + ms(29) + ",4],[" + ms(34) + ",1]]}");
  r = Get("/v1/ops/concurrency/series?by=country&key=FR&from=" + std::to_string(kMs + 4000) +
          "&to=" + std::to_string(kMs + 6000));
  EXPECT_NE(r->body.find("\"points\":[[" + ms(4) + ",0],[" + ms(5) + ",1],[" + ms(6) + ",1]]"),
            std::string::npos)
      << r->body;
  r = Get("/v1/ops/concurrency/series?by=country&key=XX&from=" + std::to_string(kMs) +
          "&to=" + std::to_string(kMs + 1000));
  EXPECT_NE(r->body.find("[[" + ms(0) + ",0],[" + ms(1) + ",0]]"), std::string::npos) << r->body;
  // Without from/to: the last hour, clipped to what is kept.
  r = Get("/v1/ops/concurrency/series");
  EXPECT_EQ(r->status, 200);
  EXPECT_NE(r->body.find("\"to\":" + ms(58)), std::string::npos) << r->body.substr(0, 80);
}

TEST_F(OpsRoutesTest, StreamSendsSecondsAndCapsClients) {
  Populate();
  std::string received;
  std::atomic<int> events{0};
  std::atomic<bool> release{false};
  std::thread client([&] {
    httplib::Client c("127.0.0.1", port_);
    c.Get("/v1/ops/stream", [&](const char* data, size_t n) {
      received.append(data, n);
      events = static_cast<int>(std::count(received.begin(), received.end(), '\n'));
      return !release.load();
    });
  });
  for (int i = 0; i < 100 && events.load() < 3; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  // One client is the cap here: a second one is refused.
  ExpectError("/v1/ops/stream", 503, "too many stream clients");
  Advance(kMs + 12000 + 200);
  for (int i = 0; i < 200 && received.find(std::to_string((kB + 11) * 1000)) == std::string::npos;
       ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  release = true;
  client.join();
  EXPECT_EQ(received.rfind("retry: 2000\n\ndata: {\"as_of\":" + std::to_string((kB + 10) * 1000) +
                               ",\"total\":3,\"top\":{\"title_id\":"
                               "[{\"key\":\"t1\",\"viewers\":3}]",
                           0),
            0u)
      << received;
  EXPECT_NE(received.find("\"country\":[{\"key\":\"DE\",\"viewers\":2},"
                          "{\"key\":\"US\",\"viewers\":1}]"),
            std::string::npos);
  EXPECT_NE(received.find("data: {\"as_of\":" + std::to_string((kB + 11) * 1000)),
            std::string::npos);
  // The slot is free again once the client is gone.
  for (int i = 0; i < 100 && routes_.stream_clients() > 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(routes_.stream_clients(), 0);
}

}  // namespace
}  // namespace viewpipe::ops
