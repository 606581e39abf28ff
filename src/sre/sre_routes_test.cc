// The /v1/sre/* routes over a real SreState, served by a real httplib server.
#include "sre/sre_routes.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <thread>

#include "sre/sre_test_util.h"

namespace viewpipe::sre {
namespace {

using testing::Ev;
using T = EventType;
using testing::kT0;

class SreRoutesTest : public ::testing::Test {
 protected:
  SreRoutesTest()
      : clock_(kT0),
        book_(nullptr, ""),
        state_(SreOptions(), &book_, &clock_),
        routes_(&state_, &book_) {
    routes_.Register(&server_);
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~SreRoutesTest() override {
    server_.stop();
    thread_.join();
  }
  httplib::Result Get(const std::string& path) {
    httplib::Client c("127.0.0.1", port_);
    return c.Get(path);
  }
  void ExpectStatus(const std::string& path, int status) {
    auto r = Get(path);
    ASSERT_TRUE(r) << path;
    EXPECT_EQ(r->status, status) << path << ": " << r->body;
    if (status == 400) {
      EXPECT_NE(r->body.find("\"error\":"), std::string::npos) << r->body;
    }
  }
  // Window kT0: cdn-a 1 attempt that starts; cdn-b 2 attempts, 1 fails.
  // Window kT0 + 10 s: cdn-b 1 attempt.
  void Populate() {
    state_.Apply(Ev(T::kAttempt, kT0 + 1000, "a", "cdn-a"));
    state_.Apply(Ev(T::kPlayStart, kT0 + 2000, "a", "cdn-a").Startup(1000));
    state_.Apply(Ev(T::kAttempt, kT0 + 1000, "b", "cdn-b"));
    state_.Apply(Ev(T::kError, kT0 + 3000, "b", "cdn-b").Fatal(true));
    state_.Apply(Ev(T::kAttempt, kT0 + 1000, "c", "cdn-b", "FR"));
    state_.Apply(Ev(T::kAttempt, kT0 + 15000, "d", "cdn-b"));
    state_.AdvanceWatermark(kT0 + 25000);  // closes both windows (lateness 5 s)
  }

  ManualClock clock_;
  AlertBook book_;
  SreState state_;
  SreRoutes routes_;
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
};

TEST_F(SreRoutesTest, NoWindowYetIs503) {
  auto r = Get("/v1/sre/qoe?by=cdn&window=60");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(r->get_header_value("Retry-After"), "1");
}

TEST_F(SreRoutesTest, QoeByCdnOverTheWindow) {
  Populate();
  auto r = Get("/v1/sre/qoe?by=cdn&window=60");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  const std::string& b = r->body;
  EXPECT_NE(b.find("\"as_of\":" + std::to_string(kT0 + 20000)), std::string::npos) << b;
  EXPECT_NE(b.find("\"by\":\"cdn\""), std::string::npos) << b;
  // cdn-b first (3 attempts), then cdn-a.
  const size_t pb = b.find("{\"key\":\"cdn-b\",\"attempts\":3,\"vsf_rate\":0.3333");
  const size_t pa = b.find("{\"key\":\"cdn-a\",\"attempts\":1,\"vsf_rate\":0,");
  ASSERT_NE(pb, std::string::npos) << b;
  ASSERT_NE(pa, std::string::npos) << b;
  EXPECT_LT(pb, pa);
  EXPECT_NE(b.find("\"total\":{\"attempts\":4,"), std::string::npos) << b;
  EXPECT_NE(b.find("\"vst_p50_ms\":1005"), std::string::npos) << b;
}

TEST_F(SreRoutesTest, WindowOfTenSecondsReadsOnlyTheNewestWindow) {
  Populate();
  auto r = Get("/v1/sre/qoe?by=cdn_country&window=10");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_NE(r->body.find("{\"key\":\"cdn-b|DE\",\"attempts\":1,\"vsf_rate\":0,"),
            std::string::npos)
      << r->body;
  EXPECT_EQ(r->body.find("cdn-a"), std::string::npos) << r->body;
  EXPECT_EQ(r->body.find("FR"), std::string::npos) << r->body;
}

TEST_F(SreRoutesTest, LateEventsAmendTheClosedWindows) {
  Populate();
  state_.Apply(Ev(T::kAttempt, kT0 + 1000, "late", "cdn-a"));
  state_.Apply(Ev(T::kError, kT0 + 1500, "late", "cdn-a").Fatal(true));
  state_.AdvanceWatermark(kT0 + 26000);
  auto r = Get("/v1/sre/qoe?by=cdn&window=60");
  ASSERT_TRUE(r);
  EXPECT_NE(r->body.find("{\"key\":\"cdn-a\",\"attempts\":2,\"vsf_rate\":0.5,"), std::string::npos)
      << r->body;
  EXPECT_EQ(state_.stats().late_contributions, 2u);
}

TEST_F(SreRoutesTest, WithoutByOnlyTheTotal) {
  Populate();
  auto r = Get("/v1/sre/qoe?window=60");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200);
  EXPECT_NE(r->body.find("\"groups\":[]"), std::string::npos) << r->body;
  EXPECT_NE(r->body.find("\"total\":{\"attempts\":4,"), std::string::npos) << r->body;
}

TEST_F(SreRoutesTest, BadParametersAre400) {
  Populate();
  ExpectStatus("/v1/sre/qoe?by=planet&window=60", 400);
  ExpectStatus("/v1/sre/qoe?by=cdn&window=abc", 400);
  ExpectStatus("/v1/sre/qoe?by=cdn&window=5", 400);
  ExpectStatus("/v1/sre/qoe?by=cdn&window=-60", 400);
  ExpectStatus("/v1/sre/qoe?by=cdn&window=99999999999", 400);
  ExpectStatus("/v1/sre/alerts?state=closed", 400);
  ExpectStatus("/v1/sre/alerts?since=yesterday", 400);
  ExpectStatus("/v1/sre/qoe/series?by=cdn", 400);
  ExpectStatus("/v1/sre/qoe?by=cdn&window=60", 200);
}

TEST_F(SreRoutesTest, SeriesPerWindow) {
  Populate();
  auto r = Get("/v1/sre/qoe/series?by=cdn&key=cdn-b&step=10&range=60");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_NE(r->body.find("{\"at\":" + std::to_string(kT0) + ",\"attempts\":2,\"vsf_rate\":0.5"),
            std::string::npos)
      << r->body;
  EXPECT_NE(r->body.find("{\"at\":" + std::to_string(kT0 + 10000) + ",\"attempts\":1,"),
            std::string::npos)
      << r->body;
}

TEST_F(SreRoutesTest, AlertsOpenAndAll) {
  Alert a;
  a.kind = "qoe";
  a.dimension = "cdn";
  a.key = "cdn-b";
  a.metric = "vsf_rate";
  a.severity = "critical";
  a.started_at = kT0;
  a.detected_at = kT0 + 25000;
  a.id = Alert::MakeId(a.kind, a.dimension, a.key, a.metric, a.started_at);
  ASSERT_TRUE(book_.Raise(a));
  EXPECT_FALSE(book_.Raise(a));  // de-duplicated by id
  auto r = Get("/v1/sre/alerts?state=open");
  ASSERT_TRUE(r);
  EXPECT_NE(r->body.find("\"state\":\"open\",\"kind\":\"qoe\",\"dimension\":\"cdn\",\"key\":"
                         "\"cdn-b\",\"metric\":\"vsf_rate\""),
            std::string::npos)
      << r->body;
  EXPECT_NE(r->body.find("\"resolved_at\":null"), std::string::npos) << r->body;
  book_.Resolve(a.id, kT0 + 60000);
  r = Get("/v1/sre/alerts?state=open");
  EXPECT_EQ(r->body, "{\"alerts\":[]}");
  r = Get("/v1/sre/alerts?state=all&since=" + std::to_string(kT0));
  EXPECT_NE(r->body.find("\"resolved_at\":" + std::to_string(kT0 + 60000)), std::string::npos)
      << r->body;
  r = Get("/v1/sre/alerts?state=all&since=" + std::to_string(kT0 + 1));
  EXPECT_EQ(r->body, "{\"alerts\":[]}");
}

}  // namespace
}  // namespace viewpipe::sre
