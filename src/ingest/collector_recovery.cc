// Collector::Recover: rebuilds the dedup index from the log's tail and
// repairs the `qoe` topic after a crash.
//
// A group commit writes each touched partition file in turn; a crash between
// two writes can leave a QoE event in `viewing` but not in `qoe`. A retry
// would then be a duplicate (dedup is rebuilt from `viewing`), so the event
// would never reach SRE; the opposite case would store the retry twice in
// `qoe`. Recovery completes such commits. Only the last group commit can be
// torn, so the repair looks at the last kRepairLookbackMs of the log.

#include <spdlog/spdlog.h>

#include <algorithm>
#include <string>
#include <unordered_map>
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
        DecodedIds ids;
        Status st = DecodeEvent(r.value, &e, &ids);
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
  size_t remembered = 0;
  Status st = ScanTopic(*log_, kTopicViewing, now - options_.dedup_window_ms,
                        [&](const ConsumedRecord& r, const EventView& e) {
                          dedup_.Remember(e.event_id, r.timestamp_ms);
                          ++remembered;
                        });
  if (!st.ok()) return st;
  spdlog::info("dedup index rebuilt from the log: {} event ids", remembered);
  int64_t newest = 0;
  for (std::string_view topic : {kTopicViewing, kTopicQoe}) {
    for (PartitionId p = 0; p < log_->Partitions(topic); ++p) {
      Offset end = log_->EndOffset(topic, p);
      if (end <= log_->StartOffset(topic, p)) continue;
      auto ts = TimestampAt(*log_, topic, p, end - 1);
      if (!ts.ok()) return ts.status();
      newest = std::max(newest, *ts);
    }
  }
  if (newest == 0) return Status::OK();

  return RepairTornCommit(newest - kRepairLookbackMs);
}

// A QoE event must be in both `viewing` and `qoe`. The group commit writes
// partition files one after the other, so a crash can leave the last commit
// in either topic alone; recovery completes it (the event was durable, so
// the client's retry will be a duplicate).
Status Collector::RepairTornCommit(int64_t from_ts) {
  struct Copy {
    std::string key, value;
    int64_t ts;
  };
  std::unordered_map<std::string, Copy> only_viewing, only_qoe;
  std::unordered_set<std::string> in_viewing;
  Status st = ScanTopic(*log_, kTopicViewing, from_ts,
                        [&](const ConsumedRecord& r, const EventView& e) {
                          if (r.timestamp_ms < from_ts || !IsQoe(e.type)) return;
                          in_viewing.emplace(e.event_id);
                          only_viewing.emplace(std::string(e.event_id),
                                               Copy{std::string(r.key), std::string(r.value),
                                                    r.timestamp_ms});
                        });
  if (!st.ok()) return st;
  st = ScanTopic(*log_, kTopicQoe, from_ts, [&](const ConsumedRecord& r, const EventView& e) {
    if (r.timestamp_ms < from_ts) return;
    std::string id(e.event_id);
    if (only_viewing.erase(id) == 0 && in_viewing.count(id) == 0) {
      only_qoe.emplace(id, Copy{std::string(r.key), std::string(r.value), r.timestamp_ms});
    }
  });
  if (!st.ok()) return st;
  std::vector<ProduceRecord> repair;
  for (const auto& [id, c] : only_viewing) {
    repair.push_back(ProduceRecord{kTopicQoe, c.key, c.value, c.ts});
  }
  for (const auto& [id, c] : only_qoe) {
    repair.push_back(ProduceRecord{kTopicViewing, c.key, c.value, c.ts});
    dedup_.Remember(id, c.ts);
  }
  if (repair.empty()) return Status::OK();
  spdlog::warn("recovery: completing a torn commit: {} QoE events only in `viewing`, {} only in "
               "`qoe`",
               only_viewing.size(), only_qoe.size());
  metrics_->GetCounter("viewpipe_recovery_repaired_records_total",
                       "Records re-appended by crash recovery to complete a torn commit")
      ->Inc(repair.size());
  return log_->Append(repair);
}

}  // namespace viewpipe
