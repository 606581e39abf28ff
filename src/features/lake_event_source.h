#pragma once
// LakeEventSource: the committed events of the lake with min_ms <= ts <=
// max_ms, read with DuckDB from the files the lake's manifests name (only
// whole commits), in (ts, event_id) order — the input of OfflineFold.

#include <cstdint>

#include "features/offline_fold.h"
#include "lake/lake_reader.h"

namespace viewpipe::features {

class LakeEventSource final : public EventSource {
 public:
  // reader outlives the source.
  LakeEventSource(LakeReader* reader, int64_t min_ms, int64_t max_ms)
      : reader_(reader), min_ms_(min_ms), max_ms_(max_ms) {}
  Status ForEach(const std::function<Status(const EventView&)>& fn) override;
  int64_t files() const { return files_; }

 private:
  LakeReader* reader_;
  int64_t min_ms_, max_ms_;
  int64_t files_ = 0;
};

}  // namespace viewpipe::features
