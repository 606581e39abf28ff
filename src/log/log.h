#pragma once
// Log: the durable buffer between the collector and the consumer paths.
// Topics are split into partitions; records within a partition have dense
// offsets starting at 0. The embedded implementation is FileLog
// (file_log.h); a Kafka implementation sits behind the same interface.
//
// Durability contract: Append returns OK only when every record is durable
// (fsync'd / acked by all replicas). Consumers only ever see durable records.
// Thread safety: all methods are thread safe; a Consumer is used by one thread.

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace viewpipe {

using PartitionId = int32_t;
using Offset = int64_t;

inline constexpr std::string_view kTopicViewing = "viewing";
inline constexpr std::string_view kTopicQoe = "qoe";
inline constexpr std::string_view kTopicDeadLetters = "deadletters";

struct ProduceRecord {
  std::string_view topic;
  std::string_view key;    // partitioning key (session_id); may be empty
  std::string_view value;
  int64_t timestamp_ms = 0;  // the collector's received_at
  PartitionId partition = -1;  // -1: chosen by PartitionForKey(key)
};

struct ConsumedRecord {
  PartitionId partition = 0;
  Offset offset = 0;
  int64_t timestamp_ms = 0;
  std::string_view key;    // valid until the consumer's next Poll
  std::string_view value;  // valid until the consumer's next Poll
};

// The lag of one consumer group on one partition.
struct GroupLag {
  std::string group;
  std::string topic;
  PartitionId partition = 0;
  Offset committed = 0;
  Offset end = 0;
};

class Consumer {
 public:
  virtual ~Consumer() = default;
  // Waits up to timeout for durable records past this consumer's position
  // (without busy polling) and returns up to max_records of them, in offset
  // order per partition. An empty vector means the timeout passed.
  virtual Result<std::vector<ConsumedRecord>> Poll(size_t max_records,
                                                   std::chrono::milliseconds timeout) = 0;
  // Durably records that the group has processed everything before
  // next_offsets[p] in partition p; a restarted group resumes there.
  virtual Status Commit(const std::map<PartitionId, Offset>& next_offsets) = 0;
  // The partitions this consumer currently reads.
  virtual std::vector<PartitionId> Assignment() const = 0;
  // Moves this consumer's position (not the committed offset) in partition p.
  virtual Status Seek(PartitionId p, Offset offset) = 0;
};

// Reads the durable records of one partition in offset order, from any
// position, without a consumer group (tools, recovery, the read API).
class RecordReader {
 public:
  virtual ~RecordReader() = default;
  // Appends up to max records from the position to *out and advances past
  // them; returns how many (0: nothing durable past the position). Views stay
  // valid until the next Read. Corruption at a damaged batch.
  virtual Result<size_t> Read(size_t max, std::vector<ConsumedRecord>* out) = 0;
};

class Log {
 public:
  virtual ~Log() = default;

  virtual int Partitions(std::string_view topic) const = 0;
  // The partition a key maps to (stable across restarts and implementations).
  PartitionId PartitionForKey(std::string_view topic, std::string_view key) const;

  // Appends records, possibly to several topics and partitions, and returns
  // when all are durable. Concurrent callers share fsyncs (group commit).
  // On error (Unavailable: buffer full; NoSpace: disk full; IOError: write or
  // fsync failed) the caller must treat none of the records as accepted; some
  // may still be in the log, which retries tolerate because of event_id dedup.
  // offsets, when given, receives each record's offset.
  virtual Status Append(std::span<const ProduceRecord> records,
                        std::vector<Offset>* offsets = nullptr) = 0;

  // First offset still retained, and one past the last durable offset.
  virtual Offset StartOffset(std::string_view topic, PartitionId p) const = 0;
  virtual Offset EndOffset(std::string_view topic, PartitionId p) const = 0;

  // A consumer in `group` over all partitions of `topic` (embedded) or the
  // ones the group assigns it (Kafka), starting at the group's committed
  // offsets (or the start of the log when the group has none).
  virtual Result<std::unique_ptr<Consumer>> Subscribe(std::string_view group,
                                                      std::string_view topic) = 0;
  virtual Result<std::map<PartitionId, Offset>> Committed(std::string_view group,
                                                          std::string_view topic) const = 0;
  // A reader of one partition from offset `from` (clamped to the retained range).
  virtual Result<std::unique_ptr<RecordReader>> NewReader(std::string_view topic, PartitionId p,
                                                          Offset from) const = 0;
  // Lag of every known consumer group on every partition.
  virtual std::vector<GroupLag> Lags() const = 0;
  // Total bytes the log holds on disk.
  virtual uint64_t SizeBytes() const = 0;
};

// FNV-1a 32 of key mod partitions (non-negative).
PartitionId HashPartition(std::string_view key, int partitions);
// FNV-1a 32 of key, and the partition a hash maps to:
// HashPartition(key, n) == PartitionOfHash(KeyHash(key), n).
uint32_t KeyHash(std::string_view key);
PartitionId PartitionOfHash(uint32_t hash, int partitions);

}  // namespace viewpipe
