#pragma once
// HotProcessor: the `hot` consumer path (consumer group "hot" on
// `viewing`). Polled records are buffered and loaded into the HotTier at
// each Checkpoint (the runner's checkpoint interval, 1 s by default), when
// the path is caught up (Idle), or when kMaxPendingRecords are waiting, together with the offsets
// they reach, in one transaction, so Restore() resumes exactly after the
// last loaded record (buffered records are simply read again after a
// crash). One load per second instead of one per poll: a DuckDB
// transaction with the session-summary upsert costs milliseconds whatever
// its size, so at the demo's rate (polls of a few records) loading per poll
// cost ~0.3 core. Days that leave the window are evicted when the window
// moves (checked when idle and on restore). Runner's thread only.

#include <map>
#include <string>
#include <vector>

#include "stream/consumer_runner.h"
#include "warehouse/hot_tier.h"

namespace viewpipe {

class HotProcessor final : public Processor {
 public:
  // log and hot must outlive the processor.
  HotProcessor(Log* log, std::string topic, HotTier* hot) : log_(log), topic_(std::move(topic)), hot_(hot) {}

  Result<std::map<PartitionId, Offset>> Restore() override;
  Status Process(std::span<const ConsumedRecord> records) override;
  // Loads the buffered records (next_offsets are the runner's; the
  // buffered records reach exactly those).
  Status Checkpoint(const std::map<PartitionId, Offset>& next_offsets) override;
  void Idle() override;

  // A load is forced once this many records are buffered (~30 MB at the
  // log's ~450 bytes per event).
  static constexpr size_t kMaxPendingRecords = 65536;

 private:
  Status EvictIfWindowMoved();
  Status LoadPending();

  Log* log_;
  std::string topic_;
  HotTier* hot_;
  std::map<PartitionId, Offset> next_;  // what the hot tier holds
  struct PendingRecord {
    PartitionId partition;
    Offset offset;
    std::string value;  // the encoded event
  };
  std::vector<PendingRecord> pending_;  // not yet loaded
  std::map<PartitionId, Offset> pending_next_;
  EventDate evicted_before_{INT32_MIN};
  Status idle_error_;
};

}  // namespace viewpipe
