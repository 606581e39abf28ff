#pragma once
// HotProcessor: the `hot` consumer path (consumer group "hot" on
// `viewing`). Each polled batch is loaded into the HotTier together with
// the offsets it reaches, in one transaction, so Restore() can resume
// exactly after the last loaded record. Days that leave the window are
// evicted when the window moves (checked when idle and on restore).
// Called on the runner's thread only.

#include <map>
#include <string>

#include "stream/consumer_runner.h"
#include "warehouse/hot_tier.h"

namespace viewpipe {

class HotProcessor final : public Processor {
 public:
  // log and hot must outlive the processor.
  HotProcessor(Log* log, std::string topic, HotTier* hot) : log_(log), topic_(std::move(topic)), hot_(hot) {}

  Result<std::map<PartitionId, Offset>> Restore() override;
  Status Process(std::span<const ConsumedRecord> records) override;
  void Idle() override;

 private:
  Status EvictIfWindowMoved();

  Log* log_;
  std::string topic_;
  HotTier* hot_;
  std::map<PartitionId, Offset> next_;
  EventDate evicted_before_{INT32_MIN};
  Status idle_error_;
};

}  // namespace viewpipe
