// Collector::Recover: rebuilds the dedup index from the log's tail and
// repairs the `qoe` topic after a crash.
//
// A group commit writes each touched partition file in turn; a crash between
// two writes can leave a QoE event in `viewing` but not in `qoe`. A retry
// would then be a duplicate (dedup is rebuilt from `viewing`), so the event
// would never reach SRE. Recovery re-appends such events to `qoe`. Only the
// last group commit can be torn, so the repair looks at the last
// kRepairLookbackMs of the log.

#include <spdlog/spdlog.h>

#include <algorithm>
#include <string>
#include <unordered_set>

#include "event/codec.h"
#include "ingest/collector.h"

namespace viewpipe {
namespace {

constexpr int64_t kRepairLookbackMs = 60 * 1000;
// Wall clocks step back a little; search from a bit before the cut-off.
constexpr int64_t kClockSlackMs = 60 * 1000;
constexpr size_t kReadBatch = 4096;

// Timestamp of the record at offset, or INT64_MAX when there is none.
Result<int64_t> TimestampAt(const Log& log, std::string_view topic, PartitionId p, Offset at) {
  auto reader = log.NewReader(topic, p, at);
  if (!reader.ok()) return reader.status();
  std::vector<ConsumedRecord> one;
  auto n = (*reader)->Read(1, &one);
  if (!n.ok()) return n.status();
  return *n == 0 ? INT64_MAX : one[0].timestamp_ms;
}

// The first offset whose record timestamp is >= ts (binary search; record
// timestamps are the collector's received_at, nearly sorted per partition).
Result<Offset> OffsetForTime(const Log& log, std::string_view topic, PartitionId p, int64_t ts) {
  Offset lo = log.StartOffset(topic, p);
  Offset hi = log.EndOffset(topic, p);
  while (lo < hi) {
    Offset mid = lo + (hi - lo) / 2;
    auto t = TimestampAt(log, topic, p, mid);
    if (!t.ok()) return t.status();
    if (*t < ts) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return lo;
}

// Calls fn(record, event) for every record of topic with timestamp >= from_ts.
template <typename Fn>
Status ScanTopic(const Log& log, std::string_view topic, int64_t from_ts, Fn fn) {
  for (PartitionId p = 0; p < log.Partitions(topic); ++p) {
    auto start = OffsetForTime(log, topic, p, from_ts - kClockSlackMs);
    if (!start.ok()) return start.status();
    auto reader = log.NewReader(topic, p, *start);
    if (!reader.ok()) return reader.status();
    std::vector<ConsumedRecord> records;
    for (;;) {
      records.clear();
      auto n = (*reader)->Read(kReadBatch, &records);
      if (!n.ok()) return n.status();
      if (*n == 0) break;
      for (const ConsumedRecord& r : records) {
        EventView e;
        Status st = DecodeEvent(r.value, &e);
        if (!st.ok()) return st;
        fn(r, e);
      }
    }
  }
  return Status::OK();
}

}  // namespace

Status Collector::Recover() {
  const int64_t now = clock_->NowMs();
  int64_t newest = 0;
  size_t remembered = 0;
  Status st = ScanTopic(*log_, kTopicViewing, now - options_.dedup_window_ms,
                        [&](const ConsumedRecord& r, const EventView& e) {
                          dedup_.Remember(e.event_id, r.timestamp_ms);
                          newest = std::max(newest, r.timestamp_ms);
                          ++remembered;
                        });
  if (!st.ok()) return st;
  spdlog::info("dedup index rebuilt from the log: {} event ids", remembered);
  if (newest == 0) return Status::OK();

  // QoE repair over the last moments before the crash.
  const int64_t repair_from = newest - kRepairLookbackMs;
  std::unordered_set<std::string> in_qoe;
  st = ScanTopic(*log_, kTopicQoe, repair_from - kRepairLookbackMs,
                 [&](const ConsumedRecord&, const EventView& e) {
                   in_qoe.emplace(e.event_id);
                 });
  if (!st.ok()) return st;
  std::vector<std::string> keys, values;
  std::vector<int64_t> stamps;
  st = ScanTopic(*log_, kTopicViewing, repair_from,
                 [&](const ConsumedRecord& r, const EventView& e) {
                   if (!IsQoe(e.type) || in_qoe.count(std::string(e.event_id)) > 0) return;
                   keys.emplace_back(r.key);
                   values.emplace_back(r.value);
                   stamps.push_back(r.timestamp_ms);
                 });
  if (!st.ok()) return st;
  if (values.empty()) return Status::OK();
  std::vector<ProduceRecord> repair;
  for (size_t i = 0; i < values.size(); ++i) {
    repair.push_back(ProduceRecord{kTopicQoe, keys[i], values[i], stamps[i]});
  }
  spdlog::warn("recovery: {} QoE events were in `viewing` but not in `qoe`; re-appending",
               repair.size());
  metrics_->GetCounter("viewpipe_recovery_qoe_repaired_total",
                       "QoE events re-appended to qoe by crash recovery")
      ->Inc(repair.size());
  return log_->Append(repair);
}

}  // namespace viewpipe
