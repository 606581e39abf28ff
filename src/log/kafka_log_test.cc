// KafkaLog behaviour that needs a broker to fail on cue: librdkafka's mock
// cluster (rdkafka_mock.h) stands in for the broker, the client code under
// test is the real KafkaLog.

#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <chrono>
#include <vector>

#include "log/kafka_log.h"

namespace viewpipe {
namespace {

using namespace std::chrono_literals;

class MockCluster {
 public:
  MockCluster() {
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    char err[256];
    rd_kafka_conf_set(conf, "log_level", "0", err, sizeof(err));
    rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    cluster_ = rd_kafka_mock_cluster_new(rk_, 1);
    // The mock cluster does not serve CreateTopics: the topics exist already,
    // as they would when an operator created them.
    rd_kafka_mock_topic_create(cluster_, "viewing", 4, 1);
    rd_kafka_mock_topic_create(cluster_, "qoe", 2, 1);
    rd_kafka_mock_topic_create(cluster_, "deadletters", 1, 1);
  }
  ~MockCluster() {
    rd_kafka_mock_cluster_destroy(cluster_);
    rd_kafka_destroy(rk_);
  }
  std::string Bootstraps() const { return rd_kafka_mock_cluster_bootstraps(cluster_); }
  // The next ListOffsets requests (the watermark query) fail with these.
  void PushListOffsetsErrors(const std::vector<rd_kafka_resp_err_t>& errors) {
    constexpr int16_t kListOffsets = 2;  // Kafka's ApiKey
    rd_kafka_mock_push_request_errors_array(cluster_, kListOffsets, errors.size(), errors.data());
  }
  void SetDown(bool down) {
    if (down) {
      rd_kafka_mock_broker_set_down(cluster_, 1);
    } else {
      rd_kafka_mock_broker_set_up(cluster_, 1);
    }
  }

 private:
  rd_kafka_t* rk_ = nullptr;
  rd_kafka_mock_cluster_t* cluster_ = nullptr;
};

Status AppendOne(Log* log, std::string_view value) {
  ProduceRecord r{"viewing", "session-1", value, 1700000000000};
  return log->Append(std::span<const ProduceRecord>(&r, 1));
}

// The collector turns Unavailable into 503 + Retry-After: a broker that is
// down must produce exactly that, within the delivery timeout, and the log
// must take records again once the broker is back.
TEST(KafkaLogTest, BrokerDownIsUnavailableAndRecovers) {
  MockCluster cluster;
  KafkaLogOptions o;
  o.brokers = cluster.Bootstraps();
  o.delivery_timeout_ms = 1500;
  o.request_timeout_ms = 3000;
  auto log = KafkaLog::Open(o);
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  ASSERT_TRUE(AppendOne(log->get(), "before").ok());
  EXPECT_EQ((*log)->EndOffset("viewing", HashPartition("session-1", 4)), 1);

  cluster.SetDown(true);
  auto t0 = std::chrono::steady_clock::now();
  Status st = AppendOne(log->get(), "while down");
  auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(st.code(), Status::Code::kUnavailable) << st.ToString();
  EXPECT_LT(took, 10s);

  cluster.SetDown(false);
  Status again;
  for (int i = 0; i < 20; ++i) {
    again = AppendOne(log->get(), "after");
    if (again.ok()) break;
  }
  EXPECT_TRUE(again.ok()) << again.ToString();
}

// A topic created a moment ago answers "not leader" until its leader is
// elected (a freshly started broker): the offsets are asked again, not
// failed (serve used to exit with "kafka watermarks of viewing: Broker: Not
// leader for partition").
TEST(KafkaLogTest, OffsetsWaitForALeaderBeingElected) {
  MockCluster cluster;
  KafkaLogOptions o;
  o.brokers = cluster.Bootstraps();
  auto log = KafkaLog::Open(o);
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  cluster.PushListOffsetsErrors({RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
                                 RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE,
                                 RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION});
  ASSERT_TRUE(AppendOne(log->get(), "one").ok());
  EXPECT_EQ((*log)->EndOffset("viewing", HashPartition("session-1", 4)), 1);
}

TEST(KafkaLogTest, NoBrokerFailsOpenWithUnavailable) {
  KafkaLogOptions o;
  o.brokers = "127.0.0.1:1";  // nothing listens there
  o.request_timeout_ms = 1000;
  auto log = KafkaLog::Open(o);
  ASSERT_FALSE(log.ok());
  EXPECT_EQ(log.status().code(), Status::Code::kUnavailable) << log.status().ToString();
}

TEST(KafkaLogTest, PartitionCountMismatchIsRefused) {
  MockCluster cluster;
  KafkaLogOptions o;
  o.brokers = cluster.Bootstraps();
  ASSERT_TRUE(KafkaLog::Open(o).ok());  // viewing has 4 partitions
  o.topics = {{"viewing", 8}};
  auto log = KafkaLog::Open(o);
  ASSERT_FALSE(log.ok());
  EXPECT_EQ(log.status().code(), Status::Code::kInvalidArgument) << log.status().ToString();
}

}  // namespace
}  // namespace viewpipe
