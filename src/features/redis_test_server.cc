#include "features/redis_test_server.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string_view>
#include <cstdlib>
#include <thread>

namespace viewpipe::features {
namespace {

// Whether the server answers PING with PONG: a server still loading its AOF
// accepts connections but answers -LOADING (a test that restarts one and
// reads at once failed on that under load).
bool Accepts(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  timeval tv{2, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
            ::send(fd, "PING\r\n", 6, MSG_NOSIGNAL) == 6;
  char reply[16] = {};
  ok = ok && ::recv(fd, reply, sizeof(reply) - 1, 0) >= 5 && std::string_view(reply, 5) == "+PONG";
  ::close(fd);
  return ok;
}

struct Server {
  std::string url;
  std::string reason;
  std::string dir;
  int pid = -1;

  Server() {
    if (const char* env = std::getenv("VP_REDIS_URL"); env != nullptr && *env != '\0') {
      url = env;
      return;
    }
    char tmpl[] = "/tmp/vp-redis-test.XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) {
      reason = "cannot make a temp dir";
      return;
    }
    dir = tmpl;
    const int port = RedisTestServer::FreePort();
    pid = RedisTestServer::StartServer(port, dir);
    if (pid > 0) {
      url = "redis://127.0.0.1:" + std::to_string(port) + "/0";
    } else {
      reason = "could not start 'redis-server' (Debian package redis-server)";
    }
  }
  ~Server() {
    RedisTestServer::StopServer(pid);
    if (!dir.empty()) std::system(("rm -rf '" + dir + "'").c_str());
  }
};

Server& TheServer() {
  static Server server;
  return server;
}

}  // namespace

int RedisTestServer::FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  int port = -1;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

int RedisTestServer::StartServer(int port, const std::string& dir,
                                 const std::vector<std::string>& extra) {
  std::vector<std::string> args = {"redis-server", "--port", std::to_string(port), "--bind",
                                   "127.0.0.1", "--dir", dir, "--appendonly", "yes", "--save",
                                   "", "--daemonize", "no", "--loglevel", "warning"};
  args.insert(args.end(), extra.begin(), extra.end());
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::setpgid(0, 0);
    if (int null = ::open("/dev/null", O_WRONLY); null >= 0) ::dup2(null, STDOUT_FILENO);
    ::execvp("redis-server", argv.data());
    ::_exit(127);
  }
  for (int i = 0; i < 100 && pid > 0; ++i) {
    if (Accepts(port)) return pid;
    if (::waitpid(pid, nullptr, WNOHANG) == pid) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  StopServer(pid);
  return -1;
}

void RedisTestServer::StopServer(int pid) {
  if (pid <= 0) return;
  ::kill(pid, SIGTERM);
  ::waitpid(pid, nullptr, 0);
}

const std::string& RedisTestServer::Url() { return TheServer().url; }
const std::string& RedisTestServer::Reason() { return TheServer().reason; }

}  // namespace viewpipe::features
