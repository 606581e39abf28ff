#include "log/kafka_reader.h"

#include <algorithm>
#include <chrono>

#include "log/kafka_log.h"

namespace viewpipe {

KafkaReader::KafkaReader(std::string topic, PartitionId p, int timeout_ms)
    : topic_(std::move(topic)), partition_(p), timeout_ms_(timeout_ms) {}

KafkaReader::~KafkaReader() {
  ReleaseHeld();
  if (rk_) rd_kafka_assign(rk_.get(), nullptr);
}

Result<std::unique_ptr<KafkaReader>> KafkaReader::Open(const KafkaLog& log,
                                                       const std::string& topic, PartitionId p,
                                                       Offset from) {
  auto props = log.ClientProperties();
  // librdkafka 2.0 wants a group.id even to assign; the reader never joins
  // the group (no subscribe) and never commits.
  props["group.id"] = "viewpipe-reader";
  props["enable.auto.commit"] = "false";
  props["enable.partition.eof"] = "false";
  auto conf = NewKafkaConf(props);
  if (!conf.ok()) return conf.status();
  auto rk = NewKafkaHandle(RD_KAFKA_CONSUMER, *conf);
  if (!rk.ok()) return rk.status();
  std::unique_ptr<KafkaReader> r(
      new KafkaReader(topic, p, std::stoi(props["socket.timeout.ms"])));
  r->rk_ = std::move(rk).value();
  int64_t lo = 0;
  rd_kafka_resp_err_t e = rd_kafka_query_watermark_offsets(r->rk_.get(), topic.c_str(), p, &lo,
                                                           &r->high_, r->timeout_ms_);
  VP_RETURN_IF_ERROR(KafkaStatus(e, "kafka watermarks of " + topic));
  r->position_ = std::clamp(from, Offset{lo}, r->high_);
  KafkaPartitionList list(rd_kafka_topic_partition_list_new(1));
  rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), p)->offset = r->position_;
  VP_RETURN_IF_ERROR(KafkaStatus(rd_kafka_assign(r->rk_.get(), list.get()), "kafka assign"));
  return r;
}

Status KafkaReader::RefreshHigh() {
  int64_t lo = 0, hi = 0;
  rd_kafka_resp_err_t e = rd_kafka_query_watermark_offsets(rk_.get(), topic_.c_str(), partition_,
                                                           &lo, &hi, timeout_ms_);
  VP_RETURN_IF_ERROR(KafkaStatus(e, "kafka watermarks of " + topic_));
  high_ = hi;
  return Status::OK();
}

Result<size_t> KafkaReader::Read(size_t max, std::vector<ConsumedRecord>* out) {
  ReleaseHeld();
  if (max == 0) return size_t{0};
  if (position_ >= high_) {
    VP_RETURN_IF_ERROR(RefreshHigh());
    if (position_ >= high_) return size_t{0};
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms_);
  size_t n = 0;
  while (n < max && position_ < high_) {
    int wait_ms = 0;
    if (n == 0) {
      wait_ms = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                     deadline - std::chrono::steady_clock::now())
                                     .count());
      if (wait_ms <= 0) {
        return Status::Unavailable("kafka: no records from " + topic_ + "/" +
                                   std::to_string(partition_) + " at offset " +
                                   std::to_string(position_));
      }
    }
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk_.get(), wait_ms);
    if (m == nullptr) {
      if (n > 0) break;
      continue;
    }
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      Status st = KafkaStatus(m->err, "kafka read " + topic_);
      rd_kafka_message_destroy(m);
      return st;
    }
    held_.push_back(m);
    position_ = m->offset + 1;
    out->push_back(ConsumedRecord{
        m->partition, m->offset, rd_kafka_message_timestamp(m, nullptr),
        std::string_view(static_cast<const char*>(m->key), m->key_len),
        std::string_view(static_cast<const char*>(m->payload), m->len)});
    ++n;
  }
  return n;
}

void KafkaReader::ReleaseHeld() {
  for (rd_kafka_message_t* m : held_) rd_kafka_message_destroy(m);
  held_.clear();
}

}  // namespace viewpipe
