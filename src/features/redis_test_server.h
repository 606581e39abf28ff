#pragma once
// Test-only: the redis-server the FeatureStore conformance suite runs
// against. VP_REDIS_URL (set by scripts/test.sh, which starts one) names a
// running server; otherwise the first caller starts `redis-server` (Debian
// package redis-server) on a free loopback port, with an AOF in a temp dir,
// and stops it at exit. When neither works, the Redis cases skip loudly.

#include <string>
#include <vector>

namespace viewpipe::features {

class RedisTestServer {
 public:
  // "redis://127.0.0.1:PORT/0", or "" when none is available (Reason() says why).
  static const std::string& Url();
  static const std::string& Reason();
  // Starts a private redis-server on port (dir for its files); returns its
  // pid, or -1. StopServer(pid) ends it (SIGTERM, waits).
  // extra: more redis-server arguments (e.g. {"--maxmemory", "2mb"}).
  static int StartServer(int port, const std::string& dir,
                         const std::vector<std::string>& extra = {});
  static void StopServer(int pid);
  static int FreePort();
};

}  // namespace viewpipe::features
