#include "log/kafka_log.h"

#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <thread>

#include "log/kafka_consumer.h"
#include "log/kafka_reader.h"

namespace viewpipe {
namespace {

// The acknowledgements one Append waits for. Each message's opaque points
// at its Ticket; the delivery report callback (poller thread) fills it in.
// The count of reports still due is atomic, so a report takes the lock only
// when it may be the last one (or an error), not once per message. The
// count reaches 0 only under the lock: Append's frame, which holds this,
// cannot end while the last reporter still uses it.
struct Delivery {
  struct Ticket {
    Delivery* delivery;
    size_t index;
  };
  std::mutex mu;
  std::condition_variable cv;
  std::atomic<size_t> pending{0};
  rd_kafka_resp_err_t first_error = RD_KAFKA_RESP_ERR_NO_ERROR;  // under mu
  std::vector<Offset>* offsets = nullptr;  // each report writes its own index
  std::vector<Ticket> tickets;

  // One report fewer is due; wakes the waiter after the last one.
  void Done() {
    size_t n = pending.load(std::memory_order_relaxed);
    while (n > 1) {
      if (pending.compare_exchange_weak(n, n - 1, std::memory_order_acq_rel)) return;
    }
    std::lock_guard<std::mutex> lock(mu);
    if (pending.fetch_sub(1, std::memory_order_acq_rel) == 1) cv.notify_all();
  }
};

void OnDelivery(rd_kafka_t* /*rk*/, const rd_kafka_message_t* m, void* /*opaque*/) {
  auto* ticket = static_cast<Delivery::Ticket*>(m->_private);
  Delivery* d = ticket->delivery;
  if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    std::lock_guard<std::mutex> lock(d->mu);
    if (d->first_error == RD_KAFKA_RESP_ERR_NO_ERROR) d->first_error = m->err;
  } else if (d->offsets != nullptr) {
    (*d->offsets)[ticket->index] = m->offset;
  }
  d->Done();
}

void OnError(rd_kafka_t* /*rk*/, int err, const char* reason, void* /*opaque*/) {
  spdlog::warn("kafka: {} ({})", reason, rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(err)));
}

}  // namespace

KafkaLog::KafkaLog(const KafkaLogOptions& options) : options_(options) {}

KafkaLog::~KafkaLog() {
  stop_ = true;
  if (poller_.joinable()) poller_.join();
  {
    std::lock_guard<std::mutex> lock(mu_);
    group_handles_.clear();
  }
  if (producer_) rd_kafka_flush(producer_.get(), options_.delivery_timeout_ms);
}

Result<std::unique_ptr<KafkaLog>> KafkaLog::Open(const KafkaLogOptions& options) {
  if (options.brokers.empty()) return Status::InvalidArgument("kafka: no brokers given");
  std::unique_ptr<KafkaLog> log(new KafkaLog(options));
  VP_RETURN_IF_ERROR(log->Connect());
  VP_RETURN_IF_ERROR(log->EnsureTopics());
  for (const auto& [name, count] : options.topics) {
    rd_kafka_topic_t* t =
        rd_kafka_topic_new(log->producer_.get(), log->KafkaTopic(name).c_str(), nullptr);
    if (t == nullptr) {
      return Status::InvalidArgument("kafka topic handle " + name + ": " +
                                     rd_kafka_err2str(rd_kafka_last_error()));
    }
    log->producer_topics_.emplace(name, ProducerTopic{{t, rd_kafka_topic_destroy}, count});
  }
  return log;
}

std::map<std::string, std::string> KafkaLog::ClientProperties() const {
  std::map<std::string, std::string> p = {
      {"bootstrap.servers", options_.brokers},
      {"socket.timeout.ms", std::to_string(options_.request_timeout_ms)},
      {"reconnect.backoff.max.ms", "1000"},
  };
  for (const auto& [k, v] : options_.properties) p[k] = v;
  return p;
}

Status KafkaLog::Connect() {
  auto props = ClientProperties();
  props["acks"] = "all";
  props["enable.idempotence"] = "true";
  props["message.timeout.ms"] = std::to_string(options_.delivery_timeout_ms);
  props["linger.ms"] = "1";
  // Append hands librdkafka the caller's bytes without a copy (it returns
  // only after every message reported); a request buffer then copies every
  // payload instead of referencing large ones, so none outlives the call.
  props["message.copy.max.bytes"] = "1000000000";
  props["client.id"] = "viewpipe-producer";
  auto conf = NewKafkaConf(props);
  if (!conf.ok()) return conf.status();
  rd_kafka_conf_set_dr_msg_cb(*conf, OnDelivery);
  rd_kafka_conf_set_error_cb(*conf, OnError);
  auto rk = NewKafkaHandle(RD_KAFKA_PRODUCER, *conf);
  if (!rk.ok()) return rk.status();
  producer_ = std::move(rk).value();
  poller_ = std::thread([this] { PollLoop(); });
  return Status::OK();
}

void KafkaLog::PollLoop() {
  while (!stop_) rd_kafka_poll(producer_.get(), 100);
}

Result<int> KafkaLog::PartitionsOnBroker(const std::string& name) const {
  rd_kafka_topic_t* t = rd_kafka_topic_new(producer_.get(), KafkaTopic(name).c_str(), nullptr);
  const rd_kafka_metadata_t* md = nullptr;
  rd_kafka_resp_err_t e = rd_kafka_metadata(producer_.get(), 0, t, &md, options_.request_timeout_ms);
  int count = 0;  // 0: no such topic
  if (e == RD_KAFKA_RESP_ERR_NO_ERROR && md->topic_cnt == 1) {
    rd_kafka_resp_err_t te = md->topics[0].err;
    if (te == RD_KAFKA_RESP_ERR_NO_ERROR) {
      count = md->topics[0].partition_cnt;
    } else if (te != RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) {
      e = te;
    }
  }
  if (md != nullptr) rd_kafka_metadata_destroy(md);
  rd_kafka_topic_destroy(t);
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR) return KafkaStatus(e, "kafka metadata of " + name);
  return count;
}

Status KafkaLog::EnsureTopics() {
  std::vector<std::pair<std::string, int>> missing;
  for (const auto& [name, count] : options_.topics) {
    auto n = PartitionsOnBroker(name);
    if (!n.ok()) return n.status();
    if (*n == 0) missing.push_back({name, count});
  }
  if (!missing.empty()) VP_RETURN_IF_ERROR(CreateTopics(missing));
  return CheckPartitions();
}

Status KafkaLog::CreateTopics(const std::vector<std::pair<std::string, int>>& missing) {
  std::vector<rd_kafka_NewTopic_t*> topics;
  char err[512];
  for (const auto& [name, count] : missing) {
    rd_kafka_NewTopic_t* t =
        rd_kafka_NewTopic_new(KafkaTopic(name).c_str(), count, options_.replication_factor, err,
                              sizeof(err));
    if (t == nullptr) {
      rd_kafka_NewTopic_destroy_array(topics.data(), topics.size());
      return Status::InvalidArgument("kafka topic " + name + ": " + err);
    }
    topics.push_back(t);
  }
  rd_kafka_t* rk = producer_.get();
  rd_kafka_queue_t* queue = rd_kafka_queue_new(rk);
  rd_kafka_AdminOptions_t* opts = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
  rd_kafka_AdminOptions_set_request_timeout(opts, options_.request_timeout_ms, err, sizeof(err));
  rd_kafka_CreateTopics(rk, topics.data(), topics.size(), opts, queue);
  rd_kafka_event_t* ev = rd_kafka_queue_poll(queue, options_.request_timeout_ms + 5000);
  Status st;
  if (ev == nullptr) {
    st = Status::Unavailable("kafka: no answer to CreateTopics from " + options_.brokers);
  } else if (rd_kafka_event_error(ev) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    st = KafkaStatus(rd_kafka_event_error(ev), "kafka CreateTopics");
  } else {
    size_t n = 0;
    const rd_kafka_topic_result_t** results =
        rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
    for (size_t i = 0; i < n && st.ok(); ++i) {
      rd_kafka_resp_err_t e = rd_kafka_topic_result_error(results[i]);
      if (e != RD_KAFKA_RESP_ERR_NO_ERROR && e != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
        st = KafkaStatus(e, std::string("kafka create topic ") +
                                rd_kafka_topic_result_name(results[i]));
      }
    }
  }
  if (ev != nullptr) rd_kafka_event_destroy(ev);
  rd_kafka_AdminOptions_destroy(opts);
  rd_kafka_queue_destroy(queue);
  rd_kafka_NewTopic_destroy_array(topics.data(), topics.size());
  return st;
}

// A topic created a moment ago may not be in the metadata yet: retry.
Status KafkaLog::CheckPartitions() {
  for (const auto& [name, count] : options_.topics) {
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(options_.request_timeout_ms);
    Result<int> found = 0;
    for (;;) {
      found = PartitionsOnBroker(name);
      if ((found.ok() && *found > 0) || std::chrono::steady_clock::now() >= deadline) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (!found.ok()) return found.status();
    if (*found == 0) return Status::Unavailable("kafka: topic " + name + " not in the metadata");
    if (*found != count) {
      return Status::InvalidArgument("kafka topic " + name + " has " + std::to_string(*found) +
                                     " partitions, viewpipe expects " + std::to_string(count) +
                                     " (keys would land elsewhere)");
    }
  }
  return Status::OK();
}

std::string KafkaLog::KafkaTopic(std::string_view topic) const {
  return options_.topic_prefix + std::string(topic);
}

std::string KafkaLog::KafkaGroup(std::string_view group) const {
  return options_.group_prefix + std::string(group);
}

int KafkaLog::Partitions(std::string_view topic) const {
  auto it = producer_topics_.find(topic);
  return it == producer_topics_.end() ? 0 : it->second.partitions;
}

Status KafkaLog::Append(std::span<const ProduceRecord> records, std::vector<Offset>* offsets) {
  Delivery d;
  d.offsets = offsets;
  if (offsets != nullptr) offsets->assign(records.size(), -1);
  d.tickets.resize(records.size());
  std::vector<std::pair<rd_kafka_topic_t*, PartitionId>> dest(records.size());
  for (size_t i = 0; i < records.size(); ++i) {
    const ProduceRecord& r = records[i];
    auto it = producer_topics_.find(r.topic);
    if (it == producer_topics_.end()) {
      return Status::InvalidArgument("no topic '" + std::string(r.topic) + "'");
    }
    const int n = it->second.partitions;
    const PartitionId p = r.partition >= 0 ? r.partition : HashPartition(r.key, n);
    if (p >= n) {
      return Status::InvalidArgument("no partition " + std::string(r.topic) + "/" +
                                     std::to_string(p));
    }
    dest[i] = {it->second.handle.get(), p};
    d.tickets[i] = {&d, i};
  }
  // Values are not copied (no RD_KAFKA_MSG_F_COPY): the caller's bytes stay
  // valid until every message of this call has reported, which is when
  // Append returns. The extra count keeps the waiter asleep until all are
  // enqueued.
  d.pending.store(1, std::memory_order_relaxed);
  Status st;
  for (size_t i = 0; i < records.size() && st.ok(); ++i) {
    const ProduceRecord& r = records[i];
    d.pending.fetch_add(1, std::memory_order_relaxed);
    rd_kafka_resp_err_t e = rd_kafka_producev(
        producer_.get(), RD_KAFKA_V_RKT(dest[i].first), RD_KAFKA_V_PARTITION(dest[i].second),
        RD_KAFKA_V_KEY(r.key.data(), r.key.size()),
        RD_KAFKA_V_VALUE(const_cast<char*>(r.value.data()), r.value.size()),
        RD_KAFKA_V_MSGFLAGS(0), RD_KAFKA_V_TIMESTAMP(r.timestamp_ms),
        RD_KAFKA_V_OPAQUE(&d.tickets[i]), RD_KAFKA_V_END);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
      d.Done();
      st = KafkaStatus(e, "kafka produce to " + KafkaTopic(r.topic));
    }
  }
  d.Done();
  // Every enqueued message reports back (at the latest after
  // message.timeout.ms), and its ticket and bytes live on this stack and the
  // caller's: wait for all.
  std::unique_lock<std::mutex> lock(d.mu);
  d.cv.wait(lock, [&d] { return d.pending.load(std::memory_order_acquire) == 0; });
  if (st.ok() && d.first_error != RD_KAFKA_RESP_ERR_NO_ERROR) {
    st = KafkaStatus(d.first_error, "kafka delivery");
    if (st.code() == Status::Code::kIOError) st = Status::Unavailable(st.message());
  }
  return st;
}

namespace {

// A partition between leaders: a topic created a moment ago (its leader not
// elected or not loaded yet), or a leader moving to another broker. The
// answer comes once the new leader serves it.
bool LeaderMoving(rd_kafka_resp_err_t e) {
  return e == RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION ||
         e == RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE ||
         e == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART ||
         e == RD_KAFKA_RESP_ERR_FENCED_LEADER_EPOCH ||
         e == RD_KAFKA_RESP_ERR_UNKNOWN_LEADER_EPOCH ||
         e == RD_KAFKA_RESP_ERR_OFFSET_NOT_AVAILABLE;
}

}  // namespace

Result<std::pair<Offset, Offset>> KafkaLog::Watermarks(std::string_view topic,
                                                       PartitionId p) const {
  int64_t lo = 0, hi = 0;
  const std::string t = KafkaTopic(topic);
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(options_.request_timeout_ms);
  for (;;) {
    rd_kafka_resp_err_t e = rd_kafka_query_watermark_offsets(producer_.get(), t.c_str(), p, &lo,
                                                             &hi, options_.request_timeout_ms);
    if (e == RD_KAFKA_RESP_ERR_NO_ERROR) break;
    if (!LeaderMoving(e) || std::chrono::steady_clock::now() >= deadline) {
      return KafkaStatus(e, "kafka watermarks of " + t);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return std::make_pair(Offset{lo}, Offset{hi});
}

Result<int> KafkaLog::GroupMemberCount(std::string_view group) const {
  const std::string g = KafkaGroup(group);
  const rd_kafka_group_list* list = nullptr;
  rd_kafka_resp_err_t e =
      rd_kafka_list_groups(producer_.get(), g.c_str(), &list, options_.request_timeout_ms);
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR) return KafkaStatus(e, "kafka describe group " + g);
  int members = 0;
  for (int i = 0; i < list->group_cnt; ++i) {
    if (list->groups[i].err == RD_KAFKA_RESP_ERR_NO_ERROR) members += list->groups[i].member_cnt;
  }
  rd_kafka_group_list_destroy(list);
  return members;
}

Offset KafkaLog::StartOffset(std::string_view topic, PartitionId p) const {
  auto w = Watermarks(topic, p);
  return w.ok() ? w->first : 0;
}

Offset KafkaLog::EndOffset(std::string_view topic, PartitionId p) const {
  auto w = Watermarks(topic, p);
  return w.ok() ? w->second : 0;
}

Result<std::unique_ptr<Consumer>> KafkaLog::Subscribe(std::string_view group,
                                                      std::string_view topic) {
  if (Partitions(topic) == 0) return Status::NotFound("no topic '" + std::string(topic) + "'");
  auto c = KafkaConsumer::Open(*this, KafkaGroup(group), KafkaTopic(topic));
  if (!c.ok()) return c.status();
  {
    std::lock_guard<std::mutex> lock(mu_);
    subscribed_.insert({std::string(group), std::string(topic)});
  }
  return std::unique_ptr<Consumer>(std::move(c).value());
}

Result<rd_kafka_t*> KafkaLog::GroupHandle(const std::string& group) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = group_handles_.find(group);
  if (it != group_handles_.end()) return it->second.get();
  auto props = ClientProperties();
  props["group.id"] = group;
  props["enable.auto.commit"] = "false";
  auto conf = NewKafkaConf(props);
  if (!conf.ok()) return conf.status();
  auto rk = NewKafkaHandle(RD_KAFKA_CONSUMER, *conf);
  if (!rk.ok()) return rk.status();
  rd_kafka_t* raw = rk->get();
  group_handles_.emplace(group, std::move(rk).value());
  return raw;
}

Result<std::map<PartitionId, Offset>> KafkaLog::Committed(std::string_view group,
                                                          std::string_view topic) const {
  const int n = Partitions(topic);
  if (n == 0) return Status::NotFound("no topic '" + std::string(topic) + "'");
  if (group.empty()) return Status::InvalidArgument("bad consumer group name");
  auto rk = GroupHandle(KafkaGroup(group));
  if (!rk.ok()) return rk.status();
  const std::string t = KafkaTopic(topic);
  KafkaPartitionList list(rd_kafka_topic_partition_list_new(n));
  for (int p = 0; p < n; ++p) rd_kafka_topic_partition_list_add(list.get(), t.c_str(), p);
  rd_kafka_resp_err_t e = rd_kafka_committed(*rk, list.get(), options_.request_timeout_ms);
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR) return KafkaStatus(e, "kafka committed offsets");
  std::map<PartitionId, Offset> out;
  for (int i = 0; i < list->cnt; ++i) {
    const rd_kafka_topic_partition_t& tp = list->elems[i];
    if (tp.err != RD_KAFKA_RESP_ERR_NO_ERROR) return KafkaStatus(tp.err, "kafka committed");
    if (tp.offset >= 0) out[tp.partition] = tp.offset;
  }
  return out;
}

Result<std::unique_ptr<RecordReader>> KafkaLog::NewReader(std::string_view topic, PartitionId p,
                                                          Offset from) const {
  if (p < 0 || p >= Partitions(topic)) {
    return Status::InvalidArgument("no partition " + std::string(topic) + "/" + std::to_string(p));
  }
  auto r = KafkaReader::Open(*this, KafkaTopic(topic), p, from);
  if (!r.ok()) return r.status();
  return std::unique_ptr<RecordReader>(std::move(r).value());
}

std::vector<GroupLag> KafkaLog::Lags() const {
  std::set<std::pair<std::string, std::string>> subscribed;
  {
    std::lock_guard<std::mutex> lock(mu_);
    subscribed = subscribed_;
  }
  std::vector<GroupLag> out;
  for (const auto& [group, topic] : subscribed) {
    auto committed = Committed(group, topic);
    if (!committed.ok()) continue;
    for (PartitionId p = 0; p < Partitions(topic); ++p) {
      auto w = Watermarks(topic, p);
      if (!w.ok()) continue;
      auto it = committed->find(p);
      out.push_back({group, topic, p, it == committed->end() ? w->first : it->second, w->second});
    }
  }
  return out;
}

}  // namespace viewpipe
