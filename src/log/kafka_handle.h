#pragma once
// Thin RAII and error translation over librdkafka handles, shared by the
// Kafka implementation of Log (kafka_log.h), its group consumer and its
// partition reader. Nothing here knows about viewpipe's topics.

#include <librdkafka/rdkafka.h>

#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"

namespace viewpipe {

struct KafkaHandleDeleter {
  void operator()(rd_kafka_t* rk) const;
};
// Destroying a consumer handle closes it first (leaves its group).
using KafkaHandle = std::unique_ptr<rd_kafka_t, KafkaHandleDeleter>;

struct KafkaPartitionListDeleter {
  void operator()(rd_kafka_topic_partition_list_t* l) const {
    rd_kafka_topic_partition_list_destroy(l);
  }
};
using KafkaPartitionList =
    std::unique_ptr<rd_kafka_topic_partition_list_t, KafkaPartitionListDeleter>;

// librdkafka error -> Status: broker/transport/timeout trouble is
// Unavailable (the collector answers 503 + Retry-After), bad arguments are
// InvalidArgument, the rest IOError. context says what was being done.
Status KafkaStatus(rd_kafka_resp_err_t err, std::string_view context);

// A configuration from key/value properties; InvalidArgument names a bad one.
Result<rd_kafka_conf_t*> NewKafkaConf(const std::map<std::string, std::string>& props);

// Creates a producer or consumer handle from conf (which it takes over).
Result<KafkaHandle> NewKafkaHandle(rd_kafka_type_t type, rd_kafka_conf_t* conf);

}  // namespace viewpipe
