// RedisFeatureStore beyond the conformance suite (feature_store_test.cc):
// urls, errors as Status (refused, timeouts), reconnecting after the server
// comes back. Uses private redis-server processes (redis_test_server.h).

#include "features/redis_feature_store.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/scoped_temp_dir.h"
#include "features/redis_test_server.h"

namespace viewpipe::features {
namespace {

TEST(RedisUrlTest, ParsesHostPortDbAndPassword) {
  auto a = ParseRedisUrl("redis://:s3cret@10.0.0.5:6380/3");
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->host, "10.0.0.5");
  EXPECT_EQ(a->port, 6380);
  EXPECT_EQ(a->db, 3);
  EXPECT_EQ(a->password, "s3cret");
  EXPECT_EQ(a->ToString(), "10.0.0.5:6380/3");  // never the password
  auto d = ParseRedisUrl("redis://cache");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->host, "cache");
  EXPECT_EQ(d->port, 6379);
  EXPECT_EQ(d->db, 0);
  EXPECT_FALSE(ParseRedisUrl("http://x:1/0").ok());
  EXPECT_FALSE(ParseRedisUrl("redis://x:notaport/0").ok());
  EXPECT_FALSE(ParseRedisUrl("redis://x:1/-2").ok());
  EXPECT_FALSE(ParseRedisUrl("redis://x:70000").ok());
}

struct ServerGuard {  // stops a private redis-server even when an ASSERT returns early
  int pid;
  ~ServerGuard() { RedisTestServer::StopServer(pid); }
};

RedisStoreOptions OnPort(int port) {
  RedisStoreOptions o;
  o.url = "redis://127.0.0.1:" + std::to_string(port) + "/0";
  o.timeout = std::chrono::milliseconds(500);
  return o;
}

TEST(RedisFeatureStoreTest, RefusedIsUnavailableNamingTheServer) {
  const int port = RedisTestServer::FreePort();
  auto s = RedisFeatureStore::Open(OnPort(port));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), Status::Code::kUnavailable) << s.status().ToString();
  EXPECT_NE(s.status().ToString().find("127.0.0.1:" + std::to_string(port)), std::string::npos)
      << s.status().ToString();
}

TEST(RedisFeatureStoreTest, ASilentServerTimesOutAsUnavailable) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(::listen(fd, 8), 0);  // accepts connections (backlog), never answers
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const auto start = std::chrono::steady_clock::now();
  auto s = RedisFeatureStore::Open(OnPort(ntohs(addr.sin_port)));
  const auto took = std::chrono::steady_clock::now() - start;
  ::close(fd);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), Status::Code::kUnavailable) << s.status().ToString();
  EXPECT_LT(took, std::chrono::seconds(3));
}

TEST(RedisFeatureStoreTest, ServerGoneIsUnavailableThenTheNextCallReconnects) {
  ScopedTempDir dir;
  const int port = RedisTestServer::FreePort();
  ServerGuard server{RedisTestServer::StartServer(port, dir.path())};
  if (server.pid <= 0) {
    GTEST_SKIP() << "\n\n*** REDIS CASE SKIPPED: cannot start redis-server ***\n";
  }
  auto opened = RedisFeatureStore::Open(OnPort(port));
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  auto& store = *opened;
  FeatureBatch b;
  b.puts.push_back(MakePut(FeatureKind::kProfile, "a", "1"));
  b.offsets[0] = 5;
  ASSERT_TRUE(store->Write(b).ok());

  RedisTestServer::StopServer(server.pid);  // SHUTDOWN on SIGTERM writes the AOF
  server.pid = -1;
  auto gone = store->Get({FeatureKind::kProfile, "a"});
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.status().code(), Status::Code::kUnavailable) << gone.status().ToString();
  EXPECT_EQ(store->Write(b).code(), Status::Code::kUnavailable);

  server.pid = RedisTestServer::StartServer(port, dir.path());
  ASSERT_GT(server.pid, 0);
  auto back = store->Get({FeatureKind::kProfile, "a"});
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, "1");  // the AOF kept the batch
  auto offsets = store->Offsets();
  ASSERT_TRUE(offsets.ok());
  EXPECT_EQ(offsets->at(0), 5);
}

// A batch Redis refuses (out of memory) is refused whole: no state and no
// offset of it is applied, and the error is NoSpace.
TEST(RedisFeatureStoreTest, ARefusedBatchAppliesNothing) {
  ScopedTempDir dir;
  const int port = RedisTestServer::FreePort();
  ServerGuard server{RedisTestServer::StartServer(
      port, dir.path(), {"--maxmemory", "4mb", "--maxmemory-policy", "noeviction"})};
  if (server.pid <= 0) {
    GTEST_SKIP() << "\n\n*** REDIS CASE SKIPPED: cannot start redis-server ***\n";
  }
  auto opened = RedisFeatureStore::Open(OnPort(port));
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  auto& store = *opened;
  // Fill Redis past maxmemory, one 512 KiB value per batch (with a second
  // key and a second partition), until it refuses one.
  Offset last_ok = 0;
  Status refused;
  for (Offset i = 1; i <= 40 && refused.ok(); ++i) {
    FeatureBatch fill;
    fill.puts.push_back(MakePut(FeatureKind::kTitle, "big" + std::to_string(i),
                                std::string(512 << 10, 'x')));
    fill.puts.push_back(MakePut(FeatureKind::kProfile, "p" + std::to_string(i), "v"));
    fill.offsets[0] = i;
    fill.offsets[1] = 100 + i;
    refused = store->Write(fill);
    if (refused.ok()) last_ok = i;
  }
  ASSERT_GT(last_ok, 0);
  ASSERT_FALSE(refused.ok()) << "redis never refused a write";
  EXPECT_EQ(refused.code(), Status::Code::kNoSpace) << refused.ToString();
  const std::string n = std::to_string(last_ok + 1);
  auto p = store->Get({FeatureKind::kProfile, "p" + n});
  ASSERT_TRUE(p.ok()) << p.status().ToString();  // the connection is still usable
  EXPECT_FALSE(p->has_value());
  auto last = store->Get({FeatureKind::kProfile, "p" + std::to_string(last_ok)});
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(*last, "v");
  auto offsets = store->Offsets();
  ASSERT_TRUE(offsets.ok());
  EXPECT_EQ(*offsets, (std::map<PartitionId, Offset>{{0, last_ok}, {1, 100 + last_ok}}));
}

}  // namespace
}  // namespace viewpipe::features
