// POST /v1/events on the event-loop port answers exactly as the
// cpp-httplib port does: each request goes to both, each port's collector
// on its own fresh log with the same fixed clock, and the status, body and
// Retry-After must be equal.
#include "api/events_body_route.h"
#include "api/raw_http_client.h"

#include <gtest/gtest.h>
#include <httplib.h>
#include <zlib.h>

#include <thread>

#include "common/clock.h"
#include "common/env.h"
#include "common/scoped_temp_dir.h"
#include "ingest/collector.h"
#include "ingest/collector_routes.h"
#include "log/file_log.h"

namespace viewpipe {
namespace {

constexpr int64_t kNow = 1'790'000'000'000;

std::string Event(const std::string& id, const std::string& type = "heartbeat") {
  return "{\"event_id\":\"" + id + "\",\"type\":\"" + type + "\",\"ts\":" +
         std::to_string(kNow - 1000) + ",\"session_id\":\"s-" + id +
         "\",\"profile_id\":\"p1\",\"title_id\":\"t1\",\"device_type\":\"tv\","
         "\"country\":\"DE\",\"cdn\":\"cdn-a\"}";
}

std::string Batch(int first, int n) {
  std::string b = "{\"events\":[";
  for (int i = first; i < first + n; ++i) b += (i > first ? "," : "") + Event(std::to_string(i));
  return b + "]}";
}

std::string Gzip(const std::string& s) {
  z_stream z{};
  deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&z, s.size()) + 64, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(s.data()));
  z.avail_in = static_cast<uInt>(s.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

// One collector on its own log.
struct Side {
  explicit Side(ManualClock* clock) {
    FileLogOptions o;
    o.dir = JoinPath(tmp.path(), "log");
    o.env = Env::Default();
    o.clock = clock;
    o.min_free_bytes = 0;
    EXPECT_TRUE(Env::Default()->CreateDirs(o.dir).ok());
    log = std::move(FileLog::Open(o)).value();
    CollectorOptions co;
    co.write_keys = {"k1"};
    co.max_body_bytes = 64 * 1024;
    co.limits.max_events = 100;
    collector = std::make_unique<Collector>(log.get(), clock, &metrics, co);
    EXPECT_TRUE(collector->Recover().ok());
    collector->SetReady(true);
  }
  ScopedTempDir tmp;
  MetricsRegistry metrics;
  std::unique_ptr<FileLog> log;
  std::unique_ptr<Collector> collector;
};

struct Answer {
  int status = 0;
  std::string body;
  std::string retry_after;
  bool operator==(const Answer&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Answer& a) {
  return os << a.status << " " << a.body << " retry-after=" << a.retry_after;
}

class EventsBodyRouteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    RegisterCollectorRoutes(&main_, main_side_.collector.get());
    main_port_ = main_.bind_to_any_port("127.0.0.1");
    main_thread_ = std::thread([this] { main_.listen_after_bind(); });
    route_ = std::make_unique<EventsBodyRoute>(fast_side_.collector.get());
    fast_ = std::make_unique<LookupHttpServer>(LookupServerOptions{});
    fast_->AddBodyRoute("/v1/events", route_.get());
    ASSERT_TRUE(fast_->Start().ok());
    while (!main_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  void TearDown() override {
    fast_->Stop();
    main_.stop();
    main_thread_.join();
  }
  static Answer Post(int port, const httplib::Headers& headers, const std::string& body,
                     const std::string& type) {
    httplib::Client client("127.0.0.1", port);
    auto res = client.Post("/v1/events", headers, body, type);
    if (!res) return {-1, "no response", ""};
    return {res->status, res->body, res->get_header_value("Retry-After")};
  }
  // The same request to both ports: both answers, main port first.
  std::pair<Answer, Answer> Both(const std::string& body, const std::string& key = "k1",
                                 const std::string& type = "application/json",
                                 const std::string& encoding = "") {
    httplib::Headers h;
    if (!key.empty()) h.emplace("Authorization", "Bearer " + key);
    if (!encoding.empty()) h.emplace("Content-Encoding", encoding);
    return {Post(main_port_, h, body, type), Post(fast_->port(), h, body, type)};
  }

  ManualClock clock_{kNow};
  Side main_side_{&clock_};
  Side fast_side_{&clock_};
  httplib::Server main_;
  int main_port_ = 0;
  std::thread main_thread_;
  std::unique_ptr<EventsBodyRoute> route_;
  std::unique_ptr<LookupHttpServer> fast_;
};

TEST_F(EventsBodyRouteTest, SameStatusAndBodyOnBothPorts) {
  std::string mixed = Batch(0, 5);
  mixed.insert(mixed.size() - 2, ",{\"event_id\":\"bad1\",\"type\":\"heartbeat\"}," + Event("1"));
  std::string ndjson = Event("n1") + "\n" + Event("n2") + "\nnot json\n";
  std::string too_many = Batch(1000, 101);
  std::string big(70 * 1024, ' ');  // over max_body_bytes (64 KiB) as sent
  std::string bomb = Gzip(std::string(200 * 1024, ' '));  // over it once inflated
  struct Case {
    std::string name, body, key, type, encoding;
    int status;
  };
  const std::vector<Case> cases = {
      {"valid", Batch(10, 20), "k1", "application/json", "", 200},
      {"mixed", mixed, "k1", "application/json", "", 200},
      {"again: all duplicates", Batch(10, 20), "k1", "application/json", "", 200},
      {"ndjson", ndjson, "k1", "application/x-ndjson", "", 200},
      {"gzip", Gzip(Batch(100, 30)), "k1", "application/json", "gzip", 200},
      {"gzip ndjson", Gzip(Event("g1") + "\n"), "k1", "application/x-ndjson", "gzip", 200},
      {"not json", "hello", "k1", "application/json", "", 400},
      {"empty", "", "k1", "application/json", "", 400},
      {"no key", Batch(200, 2), "", "application/json", "", 401},
      {"wrong key", Batch(200, 2), "nope", "application/json", "", 401},
      {"encoding", Batch(200, 2), "k1", "application/json", "br", 415},
      {"too many events", too_many, "k1", "application/json", "", 413},
      {"body too big", big, "k1", "application/json", "", 413},
      {"gzip bomb", bomb, "k1", "application/json", "gzip", 413},
      {"bad gzip", "not gzip at all", "k1", "application/json", "gzip", 400},
  };
  for (const Case& c : cases) {
    const auto [main, fast] = Both(c.body, c.key, c.type, c.encoding);
    EXPECT_EQ(main.status, c.status) << c.name << ": " << main;
    EXPECT_EQ(main, fast) << c.name;
  }
  // Both logs got the same accepted events.
  EXPECT_EQ(main_side_.log->EndOffset(kTopicViewing, 0) + main_side_.log->EndOffset(kTopicViewing, 1),
            fast_side_.log->EndOffset(kTopicViewing, 0) + fast_side_.log->EndOffset(kTopicViewing, 1));
}

TEST_F(EventsBodyRouteTest, UnavailableIs503WithRetryAfterOnBothPorts) {
  main_side_.collector->SetReady(false);
  fast_side_.collector->SetReady(false);
  const auto [main, fast] = Both(Batch(0, 3));
  EXPECT_EQ(main.status, 503);
  EXPECT_EQ(main.retry_after, "1");
  EXPECT_EQ(main, fast);
}

TEST_F(EventsBodyRouteTest, ChunkedBodiesAreRefusedWith411OnTheFastPort) {
  RawClient c(fast_->port());
  c.Send("POST /v1/events HTTP/1.1\r\nAuthorization: Bearer k1\r\n"
         "Transfer-Encoding: chunked\r\n\r\n5\r\n{\"eve\r\n0\r\n\r\n");
  const std::string r = c.Next();
  EXPECT_EQ(r.rfind("HTTP/1.1 411 ", 0), 0u) << r;
  EXPECT_NE(r.find("Connection: close\r\n"), std::string::npos) << r;
  EXPECT_TRUE(c.PeerClosed());
}

}  // namespace
}  // namespace viewpipe
