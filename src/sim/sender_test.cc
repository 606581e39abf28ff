// HttpSender against a local collector stand-in: auth, gzip, retries of
// the same bytes on 503 (honouring Retry-After) and on a dead server,
// final 4xx answers, and simulated duplicate deliveries.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "sim/http_sender.h"

namespace viewpipe::sim {
namespace {

using Clock = std::chrono::steady_clock;

struct Received {
  std::string body, auth, encoding, type;
  Clock::time_point at;
};

class FakeCollector {
 public:
  // answer(n): the status of the n-th request (0-based).
  explicit FakeCollector(std::function<int(int)> answer) : answer_(std::move(answer)) {
    server_.Post("/v1/events", [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard<std::mutex> lock(mu_);
      const int n = static_cast<int>(received_.size());
      received_.push_back({req.body, req.get_header_value("Authorization"),
                           req.get_header_value("Content-Encoding"),
                           req.get_header_value("Content-Type"), Clock::now()});
      res.status = answer_(n);
      if (res.status == 503) res.set_header("Retry-After", "1");
      const size_t events = std::count(req.body.begin(), req.body.end(), '\n');
      if (res.status == 200) {
        const bool dup = seen_.count(req.body) > 0;
        seen_.insert(req.body);
        res.set_content("{\"accepted\":" + std::to_string(dup ? 0 : events) + ",\"duplicates\":" +
                            std::to_string(dup ? events : 0) + ",\"rejected\":0,\"errors\":[]}",
                        "application/json");
      } else {
        res.set_content("{\"error\":\"no\"}", "application/json");
      }
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~FakeCollector() {
    server_.stop();
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::vector<Received> received() {
    std::lock_guard<std::mutex> lock(mu_);
    return received_;
  }

 private:
  std::function<int(int)> answer_;
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  std::mutex mu_;
  std::vector<Received> received_;
  std::set<std::string> seen_;
};

// A port nothing listens on (closed again right away).
int FreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

OutBatch Batch(int events, bool twice = false) {
  OutBatch b;
  for (int i = 0; i < events; ++i) {
    b.body += "{\"event_id\":\"e-" + std::to_string(i) + "\"}\n";
  }
  b.events = b.valid_events = static_cast<uint32_t>(events);
  b.send_twice = twice;
  return b;
}

SenderOptions Options(const std::string& url) {
  SenderOptions o;
  o.url = url;
  o.write_key = "k1";
  o.threads = 1;
  o.backoff_initial_ms = 20;
  o.backoff_max_ms = 200;
  return o;
}

TEST(HttpSenderTest, PostsGzipWithTheKeyAndCountsTheAnswer) {
  FakeCollector collector([](int) { return 200; });
  HttpSender sender(Options(collector.url()));
  sender.Start();
  ASSERT_TRUE(sender.Enqueue(Batch(5)));
  sender.Stop(5000);
  const auto got = collector.received();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].auth, "Bearer k1");
  EXPECT_EQ(got[0].encoding, "gzip");
  EXPECT_EQ(got[0].type, "application/x-ndjson");
  EXPECT_EQ(got[0].body, Batch(5).body);  // httplib decompressed it
  const SenderStats s = sender.stats();
  EXPECT_EQ(s.accepted, 5u);
  EXPECT_EQ(s.events_sent, 5u);
  EXPECT_EQ(s.retries, 0u);
}

TEST(HttpSenderTest, RetriesTheSameBytesAfter503HonouringRetryAfter) {
  FakeCollector collector([](int n) { return n == 0 ? 503 : n == 1 ? 500 : 200; });
  HttpSender sender(Options(collector.url()));
  sender.Start();
  ASSERT_TRUE(sender.Enqueue(Batch(3)));
  sender.Stop(10000);
  const auto got = collector.received();
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[1].body, got[0].body);
  EXPECT_EQ(got[2].body, got[0].body);
  EXPECT_GE(got[1].at - got[0].at, std::chrono::milliseconds(1000)) << "Retry-After: 1";
  const SenderStats s = sender.stats();
  EXPECT_EQ(s.retries, 2u);
  EXPECT_EQ(s.http_503, 1u);
  EXPECT_EQ(s.accepted, 3u);
  EXPECT_EQ(s.failed_events, 0u);
}

TEST(HttpSenderTest, RetriesWhileTheServerIsDownThenDelivers) {
  // Take a free port, start the sender against it, bring the server up later.
  const int port = FreePort();
  SenderOptions o = Options("http://127.0.0.1:" + std::to_string(port));
  HttpSender sender(o);
  sender.Start();
  ASSERT_TRUE(sender.Enqueue(Batch(2)));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_GT(sender.stats().transport_errors, 0u);
  httplib::Server server;
  std::atomic<int> posts{0};
  server.Post("/v1/events", [&](const httplib::Request&, httplib::Response& res) {
    ++posts;
    res.set_content("{\"accepted\":2,\"duplicates\":0,\"rejected\":0}", "application/json");
  });
  ASSERT_TRUE(server.bind_to_port("127.0.0.1", port));
  std::thread t([&] { server.listen_after_bind(); });
  sender.Stop(10000);
  server.stop();
  t.join();
  EXPECT_EQ(posts.load(), 1);
  EXPECT_EQ(sender.stats().accepted, 2u);
  EXPECT_EQ(sender.stats().failed_events, 0u);
}

TEST(HttpSenderTest, A4xxIsFinalAnd401IsReported) {
  FakeCollector collector([](int) { return 401; });
  HttpSender sender(Options(collector.url()));
  sender.Start();
  ASSERT_TRUE(sender.Enqueue(Batch(4)));
  sender.Stop(5000);
  EXPECT_EQ(collector.received().size(), 1u);
  EXPECT_EQ(sender.stats().failed_events, 4u);
  EXPECT_TRUE(sender.unauthorized());
  EXPECT_NE(sender.last_error().find("401"), std::string::npos);
}

TEST(HttpSenderTest, DuplicateDeliveryPostsTheSameBatchTwice) {
  FakeCollector collector([](int) { return 200; });
  HttpSender sender(Options(collector.url()));
  sender.Start();
  ASSERT_TRUE(sender.Enqueue(Batch(6, /*twice=*/true)));
  sender.Stop(5000);
  const auto got = collector.received();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].body, got[1].body);
  const SenderStats s = sender.stats();
  EXPECT_EQ(s.accepted, 6u);
  EXPECT_EQ(s.duplicates, 6u);
  EXPECT_EQ(s.resent_events, 6u);
  EXPECT_EQ(s.events_sent, 6u);
}

TEST(HttpSenderTest, StopGivesUpOnABatchThatCannotBeDelivered) {
  FakeCollector collector([](int) { return 503; });
  HttpSender sender(Options(collector.url()));
  sender.Start();
  ASSERT_TRUE(sender.Enqueue(Batch(7)));
  ASSERT_TRUE(sender.Enqueue(Batch(8)));
  const auto t0 = Clock::now();
  sender.Stop(500);
  EXPECT_LT(Clock::now() - t0, std::chrono::seconds(5));
  EXPECT_EQ(sender.stats().failed_events, 15u);
  EXPECT_FALSE(sender.Enqueue(Batch(1)));
}

}  // namespace
}  // namespace viewpipe::sim
