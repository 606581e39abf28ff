#include "lake/s3_test_server.h"

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <thread>

namespace viewpipe {
namespace {

int FreePort() {
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

bool Accepts(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  ::close(fd);
  return ok;
}

struct Server {
  std::string endpoint;
  std::string reason;
  pid_t pid = -1;

  Server() {
    if (const char* env = std::getenv("VP_S3_ENDPOINT"); env != nullptr && *env != '\0') {
      endpoint = env;
      return;
    }
    const int port = FreePort();
    const std::string p = std::to_string(port);
    pid = ::fork();
    if (pid == 0) {
      ::setpgid(0, 0);
      ::execlp("python3", "python3", VP_SOURCE_DIR "/tests/s3_server.py", "-H", "127.0.0.1", "-p",
               p.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    for (int i = 0; i < 150 && pid > 0; ++i) {
      if (Accepts(port)) {
        endpoint = "http://127.0.0.1:" + p;
        return;
      }
      if (::waitpid(pid, nullptr, WNOHANG) == pid) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    reason = "could not start 'python3 tests/s3_server.py' (moto; pip install 'moto[server]')";
    Stop();
  }
  ~Server() { Stop(); }
  void Stop() {
    if (pid <= 0) return;
    ::kill(pid, SIGTERM);
    ::waitpid(pid, nullptr, 0);
    pid = -1;
  }
};

Server& TheServer() {
  static Server server;
  return server;
}

}  // namespace

const std::string& S3TestServer::Endpoint() { return TheServer().endpoint; }
const std::string& S3TestServer::Reason() { return TheServer().reason; }

}  // namespace viewpipe
