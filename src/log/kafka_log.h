#pragma once
// KafkaLog: the Log (log.h) on an Apache Kafka cluster, through librdkafka.
//
// Append produces with acks=all and enable.idempotence=true and returns only
// after the broker acknowledged every record of the call (the delivery
// report of each one), so the collector's 200 means "replicated as the
// topic's min.insync.replicas says". Records go to the partition
// HashPartition(key) picks (log.cc), set explicitly on each message, so a
// key lands on the same partition number as in FileLog (Kafka's own default
// partitioner, murmur2, would pick another one). Append's errors: Unavailable
// when the broker cannot be reached or did not acknowledge within
// delivery_timeout_ms, or the producer queue is full (the collector answers
// 503 + Retry-After); InvalidArgument for an unknown topic or partition.
// As with FileLog, on error none of the records counts as accepted, but
// some may be in Kafka (event_id dedup makes the retry harmless).
//
// Open creates the topics that are missing (options.topics: name ->
// partitions) and fails when an existing topic has another partition count.
//
// Consumers (kafka_consumer.h) join a Kafka consumer group with manual
// offset commits; readers (kafka_reader.h) assign one partition without a
// group. Committed and Lags query the group coordinator; Lags covers the
// groups subscribed through this KafkaLog. SizeBytes is 0: the bytes live on
// the brokers (their own metrics report them).
//
// Thread safety: all methods are thread safe.

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "log/file_log.h"
#include "log/kafka_handle.h"
#include "log/log.h"

namespace viewpipe {

struct KafkaLogOptions {
  std::string brokers;  // bootstrap.servers, "host:port[,host:port...]"
  std::map<std::string, int> topics = DefaultTopics();
  int replication_factor = -1;  // for created topics; -1: the broker's default
  // How long Append waits for acknowledgements (message.timeout.ms).
  int delivery_timeout_ms = 5000;
  // Bound of metadata, offset and commit requests.
  int request_timeout_ms = 10000;
  // Prepended to topic and group names in Kafka ("staging." -> topic
  // "staging.viewing", group "staging.ops"): several deployments, or test
  // runs, can share one cluster. Log's methods take the plain names.
  std::string topic_prefix;
  std::string group_prefix;
  // Extra librdkafka properties for every client (security, tuning).
  std::map<std::string, std::string> properties;
};

class KafkaLog final : public Log {
 public:
  // Connects, creates missing topics and checks partition counts.
  static Result<std::unique_ptr<KafkaLog>> Open(const KafkaLogOptions& options);
  ~KafkaLog() override;

  int Partitions(std::string_view topic) const override;
  Status Append(std::span<const ProduceRecord> records,
                std::vector<Offset>* offsets = nullptr) override;
  Offset StartOffset(std::string_view topic, PartitionId p) const override;
  Offset EndOffset(std::string_view topic, PartitionId p) const override;
  Result<std::unique_ptr<Consumer>> Subscribe(std::string_view group,
                                              std::string_view topic) override;
  Result<std::map<PartitionId, Offset>> Committed(std::string_view group,
                                                  std::string_view topic) const override;
  Result<std::unique_ptr<RecordReader>> NewReader(std::string_view topic, PartitionId p,
                                                  Offset from) const override;
  std::vector<GroupLag> Lags() const override;
  uint64_t SizeBytes() const override { return 0; }

  // The names in Kafka of a topic and a group of this log.
  std::string KafkaTopic(std::string_view topic) const;
  std::string KafkaGroup(std::string_view group) const;
  // Properties every client of this log starts from (brokers, timeouts).
  std::map<std::string, std::string> ClientProperties() const;
  // Low and high watermark of topic/p (the high one: one past the last
  // acknowledged record).
  Result<std::pair<Offset, Offset>> Watermarks(std::string_view topic, PartitionId p) const;
  // Members the broker counts in consumer group `group` right now (0 for a
  // group without members or unknown to the broker).
  Result<int> GroupMemberCount(std::string_view group) const;

 private:
  explicit KafkaLog(const KafkaLogOptions& options);
  Status Connect();
  // Creates the missing topics, then checks every partition count.
  Status EnsureTopics();
  Status CreateTopics(const std::vector<std::pair<std::string, int>>& missing);
  Status CheckPartitions();
  // The partition count of a topic on the broker; 0 when it does not exist.
  Result<int> PartitionsOnBroker(const std::string& name) const;
  // A consumer handle of `group` (not subscribed) to query its offsets.
  Result<rd_kafka_t*> GroupHandle(const std::string& group) const;
  void PollLoop();

  // A topic's producer handle (looked up once, not by name per message)
  // and its partition count.
  struct ProducerTopic {
    std::unique_ptr<rd_kafka_topic_t, void (*)(rd_kafka_topic_t*)> handle;
    int partitions;
  };

  const KafkaLogOptions options_;
  KafkaHandle producer_;
  // After producer_: destroyed before it.
  std::map<std::string, ProducerTopic, std::less<>> producer_topics_;
  std::atomic<bool> stop_{false};
  std::thread poller_;  // serves delivery reports
  mutable std::mutex mu_;
  mutable std::map<std::string, KafkaHandle> group_handles_;
  std::set<std::pair<std::string, std::string>> subscribed_;  // group, topic
};

}  // namespace viewpipe
