#pragma once
// Test-only helpers for the group tests (opsgroup_test, sregroup_test): a
// FileLog of one topic, events appended as the collector would (key
// session_id, timestamp received_at), and a simulated member's hand-overs
// and reads (the partitions it owns, read in batches that interleave them
// as a consumer does).

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/metrics.h"
#include "event/codec.h"
#include "event/event.h"
#include "log/file_log.h"
#include "stream/consumer_runner.h"

namespace viewpipe::partgroup::testing {

inline std::unique_ptr<FileLog> OpenGroupLog(const std::string& dir, Clock* clock,
                                             const std::string& topic, int partitions) {
  FileLogOptions o;
  o.dir = dir;
  o.clock = clock;
  o.topics = {{topic, partitions}};
  o.min_free_bytes = 0;
  auto log = FileLog::Open(o);
  EXPECT_TRUE(log.ok()) << log.status().ToString();
  return log.ok() ? std::move(log).value() : nullptr;
}

// Appends the events to topic in batches of 500.
inline void AppendEvents(Log* log, const std::string& topic, const std::vector<EventView>& events) {
  std::vector<std::string> values(events.size());
  std::vector<ProduceRecord> records;
  for (size_t i = 0; i < events.size(); ++i) {
    EncodeEvent(events[i], &values[i]);
    ProduceRecord r;
    r.topic = topic;
    r.key = events[i].session_id;
    r.value = values[i];
    r.timestamp_ms = events[i].received_at_ms;
    records.push_back(r);
  }
  for (size_t i = 0; i < records.size(); i += 500) {
    const size_t n = std::min<size_t>(500, records.size() - i);
    ASSERT_TRUE(log->Append(std::span(records).subspan(i, n)).ok());
  }
}

// One simulated process of a group.
template <typename Shards, typename Checkpoints, typename GroupProcessor>
struct Member {
  std::unique_ptr<Shards> shards;
  std::unique_ptr<Checkpoints> checkpoints;
  std::unique_ptr<GroupProcessor> processor;
  std::map<PartitionId, Offset> next;  // read position of each owned partition

  // A member whose processor reads topic of log with shards and checkpoints.
  template <typename Options>
  static Member Make(std::unique_ptr<Shards> shards, std::unique_ptr<Checkpoints> checkpoints,
                     Log* log, const std::string& topic, Clock* clock, MetricsRegistry* metrics,
                     const Options& options) {
    Member m;
    m.shards = std::move(shards);
    m.checkpoints = std::move(checkpoints);
    m.processor = std::make_unique<GroupProcessor>(log, topic, m.shards.get(), m.checkpoints.get(),
                                                   clock, metrics, options);
    return m;
  }
};

// processor->Reassign(lost, gained), keeping *next (the member's read
// position of each partition it owns) in step.
inline void ReassignTracked(Processor* processor, const std::vector<PartitionId>& lost,
                            const std::vector<PartitionId>& gained,
                            std::map<PartitionId, Offset>* next) {
  auto offsets = processor->Reassign(lost, gained);
  ASSERT_TRUE(offsets.ok()) << offsets.status().ToString();
  for (PartitionId p : lost) next->erase(p);
  for (const auto& [p, o] : *offsets) (*next)[p] = o;
}

// Feeds processor the records of the partitions in *next up to fraction of
// each, in batches of up to `per` records of each partition.
inline void FeedInterleaved(const Log* log, const std::string& topic, Processor* processor,
                            std::map<PartitionId, Offset>* next, double fraction, size_t per) {
  for (bool more = true; more;) {
    more = false;
    std::vector<ConsumedRecord> batch;
    std::vector<std::unique_ptr<RecordReader>> readers;  // own the batch's bytes
    for (auto& [p, at] : *next) {
      const Offset end = static_cast<Offset>(fraction * log->EndOffset(topic, p));
      if (at >= end) continue;
      auto reader = log->NewReader(topic, p, at);
      ASSERT_TRUE(reader.ok());
      std::vector<ConsumedRecord> got;
      ASSERT_TRUE((*reader)->Read(std::min(static_cast<size_t>(end - at), per), &got).ok());
      for (const ConsumedRecord& r : got) at = r.offset + 1;
      batch.insert(batch.end(), got.begin(), got.end());
      readers.push_back(std::move(reader).value());
      more = true;
    }
    if (!batch.empty()) {
      ASSERT_TRUE(processor->Process(batch).ok());
    }
  }
}

}  // namespace viewpipe::partgroup::testing
