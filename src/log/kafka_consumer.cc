#include "log/kafka_consumer.h"

#include <spdlog/spdlog.h>

#include "log/kafka_log.h"

namespace viewpipe {

KafkaConsumer::KafkaConsumer(std::string group, std::string topic, int request_timeout_ms)
    : group_(std::move(group)), topic_(std::move(topic)), request_timeout_ms_(request_timeout_ms) {}

KafkaConsumer::~KafkaConsumer() {
  ReleaseHeld();
  DropPending();
  rd_kafka_t* rk = rk_.release();
  KafkaHandleDeleter()(rk);  // leaves the group (the final revoke runs here)
  DropPending();
}

Result<std::unique_ptr<KafkaConsumer>> KafkaConsumer::Open(const KafkaLog& log,
                                                           const std::string& group,
                                                           const std::string& topic,
                                                           std::chrono::milliseconds join_timeout) {
  if (group.empty()) return Status::InvalidArgument("bad consumer group name");
  auto props = log.ClientProperties();
  props["group.id"] = group;
  props["enable.auto.commit"] = "false";
  props["enable.auto.offset.store"] = "false";
  props["auto.offset.reset"] = "earliest";
  props["enable.partition.eof"] = "false";
  // A member killed with -9 holds its partitions until this passes.
  props["session.timeout.ms"] = "10000";
  props["heartbeat.interval.ms"] = "1000";
  auto conf = NewKafkaConf(props);
  if (!conf.ok()) return conf.status();
  std::unique_ptr<KafkaConsumer> c(
      new KafkaConsumer(group, topic, std::stoi(props["socket.timeout.ms"])));
  rd_kafka_conf_set_rebalance_cb(*conf, OnRebalance);
  rd_kafka_conf_set_opaque(*conf, c.get());
  auto rk = NewKafkaHandle(RD_KAFKA_CONSUMER, *conf);
  if (!rk.ok()) return rk.status();
  c->rk_ = std::move(rk).value();
  rd_kafka_poll_set_consumer(c->rk_.get());
  VP_RETURN_IF_ERROR(c->Join(join_timeout));
  return c;
}

Status KafkaConsumer::Join(std::chrono::milliseconds timeout) {
  KafkaPartitionList topics(rd_kafka_topic_partition_list_new(1));
  rd_kafka_topic_partition_list_add(topics.get(), topic_.c_str(), RD_KAFKA_PARTITION_UA);
  rd_kafka_resp_err_t e = rd_kafka_subscribe(rk_.get(), topics.get());
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR) return KafkaStatus(e, "kafka subscribe " + topic_);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!joined_ && std::chrono::steady_clock::now() < deadline) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk_.get(), 100);
    if (m != nullptr) pending_.push_back(m);
  }
  if (!joined_) {
    return Status::Unavailable("kafka: group " + group_ + " assigned no partitions within " +
                               std::to_string(timeout.count()) + " ms");
  }
  return Status::OK();
}

// rk, not rk_: while the handle closes (rk_ already reset) the callback
// still runs for the final revoke.
void KafkaConsumer::OnRebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                                rd_kafka_topic_partition_list_t* partitions, void* opaque) {
  static_cast<KafkaConsumer*>(opaque)->Rebalance(rk, err, partitions);
}

void KafkaConsumer::Rebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                              rd_kafka_topic_partition_list_t* partitions) {
  positions_.clear();
  DropPending();
  assigned_ = false;
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    // Assigned at the next Poll, with the positions Seek sets until then.
    // A partition this consumer read before resumes after the last record
    // it returned (the committed offset may be older); a new one starts at
    // the committed offset (-1) unless Seek moves it first.
    for (int i = 0; i < partitions->cnt; ++i) {
      const PartitionId p = partitions->elems[i].partition;
      auto it = returned_.find(p);
      positions_[p] = it != returned_.end() ? it->second : -1;
    }
    joined_ = true;
  } else {
    rd_kafka_assign(rk, nullptr);
  }
  spdlog::info("kafka: group {} on {} now reads {} partition(s)", group_, topic_,
               positions_.size());
}

Status KafkaConsumer::Reassign(rd_kafka_t* rk) {
  KafkaPartitionList list(rd_kafka_topic_partition_list_new(static_cast<int>(positions_.size())));
  for (const auto& [p, offset] : positions_) {
    rd_kafka_topic_partition_list_add(list.get(), topic_.c_str(), p)->offset =
        offset >= 0 ? offset : RD_KAFKA_OFFSET_STORED;
  }
  rd_kafka_resp_err_t e = rd_kafka_assign(rk, list.get());
  return KafkaStatus(e, "kafka assign " + topic_);
}

rd_kafka_message_t* KafkaConsumer::Next(int timeout_ms) {
  if (!pending_.empty()) {
    rd_kafka_message_t* m = pending_.front();
    pending_.pop_front();
    return m;
  }
  return rd_kafka_consumer_poll(rk_.get(), timeout_ms);
}

Result<std::vector<ConsumedRecord>> KafkaConsumer::Poll(size_t max_records,
                                                        std::chrono::milliseconds timeout) {
  ReleaseHeld();
  std::vector<ConsumedRecord> out;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (out.size() < max_records) {
    int wait_ms = 0;
    if (out.empty()) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      wait_ms = static_cast<int>(left.count());
    }
    if (!assigned_ && joined_) {
      VP_RETURN_IF_ERROR(Reassign(rk_.get()));
      assigned_ = true;
    }
    rd_kafka_message_t* m = Next(wait_ms);
    if (m == nullptr) {
      if (!out.empty()) break;
      continue;
    }
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      Status st = KafkaStatus(m->err, "kafka consume " + topic_);
      rd_kafka_message_destroy(m);
      char reason[256];
      if (rd_kafka_fatal_error(rk_.get(), reason, sizeof(reason)) != 0) {
        return Status::IOError(std::string("kafka consumer: ") + reason);
      }
      spdlog::warn("{} (group {}), retrying", st.ToString(), group_);
      continue;
    }
    auto pos = positions_.find(m->partition);
    if (pos == positions_.end()) {  // a partition this consumer lost
      rd_kafka_message_destroy(m);
      continue;
    }
    pos->second = m->offset + 1;
    returned_[m->partition] = m->offset + 1;
    held_.push_back(m);
    out.push_back(ConsumedRecord{
        m->partition, m->offset, rd_kafka_message_timestamp(m, nullptr),
        std::string_view(static_cast<const char*>(m->key), m->key_len),
        std::string_view(static_cast<const char*>(m->payload), m->len)});
  }
  return out;
}

Status KafkaConsumer::Commit(const std::map<PartitionId, Offset>& next_offsets) {
  if (next_offsets.empty()) return Status::OK();
  KafkaPartitionList list(rd_kafka_topic_partition_list_new(static_cast<int>(next_offsets.size())));
  for (const auto& [p, offset] : next_offsets) {
    if (offset < 0) return Status::InvalidArgument("negative offset");
    rd_kafka_topic_partition_list_add(list.get(), topic_.c_str(), p)->offset = offset;
  }
  rd_kafka_resp_err_t e = rd_kafka_commit(rk_.get(), list.get(), 0);
  VP_RETURN_IF_ERROR(KafkaStatus(e, "kafka commit of group " + group_));
  for (int i = 0; i < list->cnt; ++i) {
    VP_RETURN_IF_ERROR(KafkaStatus(list->elems[i].err, "kafka commit of group " + group_));
  }
  return Status::OK();
}

std::vector<PartitionId> KafkaConsumer::Assignment() const {
  std::vector<PartitionId> out;
  for (const auto& [p, offset] : positions_) out.push_back(p);
  return out;
}

Status KafkaConsumer::Seek(PartitionId p, Offset offset) {
  auto it = positions_.find(p);
  if (it == positions_.end()) {
    return Status::InvalidArgument("partition " + std::to_string(p) + " is not assigned");
  }
  if (offset < 0) return Status::InvalidArgument("negative offset");
  it->second = offset;
  returned_[p] = offset;
  std::erase_if(pending_, [p](rd_kafka_message_t* m) {
    if (m->partition != p) return false;
    rd_kafka_message_destroy(m);
    return true;
  });
  if (!assigned_) return Status::OK();  // the assignment starts there
  KafkaPartitionList list(rd_kafka_topic_partition_list_new(1));
  rd_kafka_topic_partition_list_add(list.get(), topic_.c_str(), p)->offset = offset;
  rd_kafka_error_t* error = rd_kafka_seek_partitions(rk_.get(), list.get(), request_timeout_ms_);
  if (error != nullptr) {
    Status st = KafkaStatus(rd_kafka_error_code(error), "kafka seek " + topic_);
    rd_kafka_error_destroy(error);
    return st;
  }
  return KafkaStatus(list->elems[0].err, "kafka seek " + topic_);
}

void KafkaConsumer::ReleaseHeld() {
  for (rd_kafka_message_t* m : held_) rd_kafka_message_destroy(m);
  held_.clear();
}

void KafkaConsumer::DropPending() {
  for (rd_kafka_message_t* m : pending_) rd_kafka_message_destroy(m);
  pending_.clear();
}

}  // namespace viewpipe
