#pragma once
// KafkaReader: a RecordReader (log.h) of one Kafka partition, assigned
// without a consumer group. Read returns 0 when the position has reached
// the partition's high watermark (nothing acknowledged past it); otherwise
// it waits up to the request timeout for the fetch and fails with
// Unavailable when nothing comes.
//
// Thread safety: one thread at a time. Must be destroyed before the KafkaLog.

#include <memory>
#include <string>
#include <vector>

#include "log/kafka_handle.h"
#include "log/log.h"

namespace viewpipe {

class KafkaLog;

class KafkaReader final : public RecordReader {
 public:
  // Starts at from, clamped to [low, high] watermark. topic is the name in
  // Kafka (with the log's prefix).
  static Result<std::unique_ptr<KafkaReader>> Open(const KafkaLog& log, const std::string& topic,
                                                   PartitionId p, Offset from);
  ~KafkaReader() override;

  Result<size_t> Read(size_t max, std::vector<ConsumedRecord>* out) override;

 private:
  KafkaReader(std::string topic, PartitionId p, int timeout_ms);
  Status RefreshHigh();
  void ReleaseHeld();

  const std::string topic_;
  const PartitionId partition_;
  const int timeout_ms_;
  KafkaHandle rk_;
  Offset position_ = 0;
  int64_t high_ = 0;
  std::vector<rd_kafka_message_t*> held_;
};

}  // namespace viewpipe
