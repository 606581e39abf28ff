#pragma once
// Test-only: the Apache Kafka broker the conformance tests run against.
// VP_KAFKA_BROKERS (set by scripts/test.sh, which starts one) names a running
// broker; otherwise the first caller starts one with scripts/kafka.sh in a
// temp dir (KRaft, loopback) and stops it at exit. When neither works, the
// Kafka cases skip with a loud message saying why.

#include <string>

namespace viewpipe {

class KafkaTestBroker {
 public:
  // The broker's bootstrap address, or "" when none could be started
  // (reason() says why).
  static const std::string& Brokers();
  static const std::string& Reason();
};

}  // namespace viewpipe
