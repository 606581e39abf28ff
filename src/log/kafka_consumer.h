#pragma once
// KafkaConsumer: a Consumer (log.h) that is a member of a Kafka consumer
// group. Open subscribes and waits until the group assigned it its
// partitions (all of them when it is the group's only member), so
// Assignment and Seek work at once, as with FileLogConsumer. Offsets are
// committed only by Commit (enable.auto.commit=false), synchronously; a
// group without commits starts at the start of the log (earliest).
//
// A new assignment is handed to librdkafka at the next Poll, starting at
// the positions Seek set since (else at the committed offsets); a Seek
// after that moves the fetch position (rd_kafka_seek_partitions), and
// records fetched before it are dropped. On a rebalance the consumer drops
// records of partitions it lost; a partition it gets back resumes after the
// last record it returned (not at the possibly older committed offset), so
// a sole member's processor never sees a record twice.
//
// Thread safety: one thread at a time. Must be destroyed before the KafkaLog.

#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "log/kafka_handle.h"
#include "log/log.h"

namespace viewpipe {

class KafkaLog;

class KafkaConsumer final : public Consumer {
 public:
  static Result<std::unique_ptr<KafkaConsumer>> Open(
      const KafkaLog& log, const std::string& group, const std::string& topic,
      std::chrono::milliseconds join_timeout = std::chrono::seconds(60));
  ~KafkaConsumer() override;

  Result<std::vector<ConsumedRecord>> Poll(size_t max_records,
                                           std::chrono::milliseconds timeout) override;
  Status Commit(const std::map<PartitionId, Offset>& next_offsets) override;
  std::vector<PartitionId> Assignment() const override;
  Status Seek(PartitionId p, Offset offset) override;

 private:
  KafkaConsumer(std::string group, std::string topic, int request_timeout_ms);
  static void OnRebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                          rd_kafka_topic_partition_list_t* partitions, void* opaque);
  void Rebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                 rd_kafka_topic_partition_list_t* partitions);
  Status Join(std::chrono::milliseconds timeout);
  // Assigns positions_'s partitions there (the committed offset where -1).
  Status Reassign(rd_kafka_t* rk);
  // The next message (pending_ first); null when none came within timeout.
  rd_kafka_message_t* Next(int timeout_ms);
  void ReleaseHeld();
  void DropPending();

  const std::string group_;
  const std::string topic_;
  const int request_timeout_ms_;
  KafkaHandle rk_;
  bool joined_ = false;
  bool assigned_ = false;  // rd_kafka_assign done for the current assignment
  std::map<PartitionId, Offset> positions_;  // assigned partitions; -1: committed
  std::map<PartitionId, Offset> returned_;   // after the last record returned or sought
  std::vector<rd_kafka_message_t*> held_;    // backs the views of the last Poll
  std::deque<rd_kafka_message_t*> pending_;  // fetched while joining
};

}  // namespace viewpipe
