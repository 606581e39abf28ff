#include "log/kafka_test_broker.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>

namespace viewpipe {
namespace {

int FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  int port = -1;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

struct Broker {
  std::string brokers;
  std::string reason;
  std::string dir;  // ours to stop; empty when given from outside

  Broker() {
    if (const char* env = std::getenv("VP_KAFKA_BROKERS"); env != nullptr && *env != '\0') {
      brokers = env;
      return;
    }
    const std::string script = std::string(VP_SOURCE_DIR) + "/scripts/kafka.sh";
    dir = (std::filesystem::temp_directory_path() /
           ("viewpipe-kafka-test-" + std::to_string(::getpid())))
              .string();
    const int port = FreePort();
    // Retention checked from the start and every second (not after 30 s,
    // then every 5 min): a case that writes records older than the broker's
    // 1 h retention then fails at once, not once in forty runs (issue 9).
    std::string cmd = script + " start " + dir + " " + std::to_string(port) +
                      " log.initial.task.delay.ms=0 log.retention.check.interval.ms=1000 >" +
                      dir + ".start.log 2>&1";
    std::fprintf(stderr, "[kafka] VP_KAFKA_BROKERS unset: starting a broker (%s)\n",
                 cmd.c_str());
    if (port <= 0 || std::system(cmd.c_str()) != 0) {
      reason = "could not start a Kafka broker with '" + cmd + "' (see " + dir + ".start.log)";
      Stop();
      return;
    }
    brokers = "127.0.0.1:" + std::to_string(port);
  }
  ~Broker() { Stop(); }
  void Stop() {
    if (dir.empty()) return;
    std::string cmd = std::string(VP_SOURCE_DIR) + "/scripts/kafka.sh stop " + dir + " >/dev/null 2>&1";
    if (std::system(cmd.c_str()) != 0) std::fprintf(stderr, "[kafka] stop failed: %s\n", cmd.c_str());
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
    dir.clear();
  }
};

Broker& TheBroker() {
  static Broker broker;
  return broker;
}

}  // namespace

const std::string& KafkaTestBroker::Brokers() { return TheBroker().brokers; }
const std::string& KafkaTestBroker::Reason() { return TheBroker().reason; }

}  // namespace viewpipe
