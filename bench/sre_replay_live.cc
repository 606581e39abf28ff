// sre_replay --live (sre_replay_live.h): the qoe topic in arrival order.
#include "sre_replay_live.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <vector>

#include "common/clock.h"
#include "event/codec.h"
#include "log/file_log.h"
#include "sre/alert_book.h"
#include "sre/sre_module.h"
#include "sre/sre_processor.h"
#include "sre/sre_state.h"

namespace viewpipe::bench {
namespace {

struct Stored {
  Offset offset = 0;
  int64_t arrival = 0;  // received_at (or the log's timestamp)
  std::string key, value;
};

// The log as the consumer saw it at the replay's clock: the SreProcessor
// asks it only for partitions and start/end offsets (caught up or not).
class ArrivalLog final : public Log {
 public:
  explicit ArrivalLog(std::vector<Offset> ends) : ends_(std::move(ends)) {}
  void SetEnd(PartitionId p, Offset end) { ends_[static_cast<size_t>(p)] = end; }

  int Partitions(std::string_view) const override { return static_cast<int>(ends_.size()); }
  Status Append(std::span<const ProduceRecord>, std::vector<Offset>*) override {
    return Status::InvalidArgument("read only");
  }
  Offset StartOffset(std::string_view, PartitionId) const override { return 0; }
  Offset EndOffset(std::string_view, PartitionId p) const override {
    return ends_[static_cast<size_t>(p)];
  }
  Result<std::unique_ptr<Consumer>> Subscribe(std::string_view, std::string_view) override {
    return Status::InvalidArgument("replay");
  }
  Result<std::map<PartitionId, Offset>> Committed(std::string_view,
                                                  std::string_view) const override {
    return std::map<PartitionId, Offset>{};
  }
  Result<std::unique_ptr<RecordReader>> NewReader(std::string_view, PartitionId,
                                                  Offset) const override {
    return Status::InvalidArgument("replay");
  }
  std::vector<GroupLag> Lags() const override { return {}; }
  uint64_t SizeBytes() const override { return 0; }

 private:
  std::vector<Offset> ends_;
};

// Every record of every partition of `qoe`, in log order, with its arrival.
bool LoadTopic(const std::string& data_dir, std::vector<std::vector<Stored>>* out) {
  FileLogOptions lo;
  lo.dir = JoinPath(data_dir, "log");
  lo.read_only = true;
  auto log = FileLog::Open(lo);
  if (!log.ok()) {
    std::fprintf(stderr, "cannot open the log: %s\n", log.status().ToString().c_str());
    return false;
  }
  EventView e;
  DecodedIds ids;
  for (PartitionId p = 0; p < (*log)->Partitions("qoe"); ++p) {
    auto r = (*log)->NewReader("qoe", p, 0);
    if (!r.ok()) return false;
    auto& part = out->emplace_back();
    std::vector<ConsumedRecord> batch;
    for (;;) {
      batch.clear();
      auto got = (*r)->Read(4096, &batch);
      if (!got.ok() || *got == 0) break;
      for (const ConsumedRecord& c : batch) {
        int64_t arrival = c.timestamp_ms;
        if (DecodeEvent(c.value, &e, &ids).ok() && e.received_at_ms > 0) arrival = e.received_at_ms;
        part.push_back({c.offset, arrival, std::string(c.key), std::string(c.value)});
      }
    }
  }
  return true;
}

}  // namespace

bool SetKnob(const std::string& key, double value, sre::DetectorOptions* d) {
  const std::map<std::string, double*> reals = {{"max_p_value", &d->max_p_value},
                                                {"persist_p_value", &d->persist_p_value},
                                                {"resolve_p_value", &d->resolve_p_value},
                                                {"resolve_stretch_p_value",
                                                 &d->resolve_stretch_p_value},
                                                {"burst_share", &d->burst_share},
                                                {"fatal_surge_ratio", &d->fatal_surge_ratio}};
  const std::map<std::string, int64_t*> ms = {{"persist_ms", &d->persist_ms},
                                              {"recent_max_ms", &d->recent_max_ms},
                                              {"partial_ms", &d->partial_ms},
                                              {"settle_ms", &d->settle_ms}};
  if (auto it = reals.find(key); it != reals.end()) {
    *it->second = value;
    return true;
  }
  if (auto it = ms.find(key); it != ms.end()) {
    *it->second = static_cast<int64_t>(value);
    return true;
  }
  return false;
}

namespace {

// Hands the records to the processor as they become visible, every
// step_ms of the clock; returns the records applied (-1 on an error).
int64_t Drive(const LiveReplayArgs& args, const std::vector<std::vector<Stored>>& parts,
              ManualClock* clock, ArrivalLog* log, sre::SreProcessor* processor) {
  int64_t first = INT64_MAX, last = INT64_MIN;
  for (const auto& part : parts) {
    for (const Stored& s : part) {
      first = std::min(first, s.arrival);
      last = std::max(last, s.arrival);
    }
  }
  std::vector<size_t> next(parts.size(), 0);
  int64_t records = 0;
  std::vector<ConsumedRecord> batch;
  for (int64_t t = first; t <= last + 60000; t += args.step_ms) {
    clock->Set(t);
    batch.clear();
    for (size_t p = 0; p < parts.size(); ++p) {
      // In log order: a record is visible once it and those before it are.
      while (next[p] < parts[p].size() && parts[p][next[p]].arrival + args.delay_ms <= t) {
        const Stored& s = parts[p][next[p]++];
        batch.push_back({static_cast<PartitionId>(p), s.offset, s.arrival, s.key, s.value});
      }
      log->SetEnd(static_cast<PartitionId>(p), next[p] == 0 ? 0 : parts[p][next[p] - 1].offset + 1);
    }
    records += static_cast<int64_t>(batch.size());
    if (batch.empty()) {
      processor->Idle();
    } else if (!processor->Process(batch).ok()) {
      return -1;
    }
  }
  return records;
}

}  // namespace

int RunLiveReplay(const LiveReplayArgs& args) {
  std::vector<std::vector<Stored>> parts;
  if (!LoadTopic(args.data_dir, &parts) || parts.empty()) return 1;
  auto options = sre::SreOptionsFromEnv();  // the server's knobs
  if (!options.ok()) return 1;
  // What-if knobs of the detector (offline only: what a rule costs).
  for (const auto& [key, value] : args.set) {
    if (!SetKnob(key, value, &options->detector)) {
      std::fprintf(stderr, "unknown --set key %s\n", key.c_str());
      return 2;
    }
  }
  ManualClock clock(0);
  sre::AlertBook book(nullptr, "");
  sre::SreState state(*options, &book, &clock);
  ArrivalLog log(std::vector<Offset>(parts.size(), 0));
  sre::SreProcessor processor(&log, "qoe", &state, &book, &clock, nullptr);
  if (!processor.Restore().ok()) return 1;
  const int64_t records = Drive(args, parts, &clock, &log, &processor);
  if (records < 0) return 1;
  size_t n = 0;
  for (const sre::Alert& a : book.List(false, 0)) {
    if (a.kind != "qoe" && a.kind != "silence") continue;
    std::string line;
    sre::AppendAlertJson(a, &line);
    std::printf("%s\n", line.c_str());
    ++n;
  }
  std::printf("{\"records\":%lld,\"alerts\":%zu,\"live_step_ms\":%lld,\"delay_ms\":%lld}\n",
              static_cast<long long>(records), n, static_cast<long long>(args.step_ms),
              static_cast<long long>(args.delay_ms));
  return 0;
}

}  // namespace viewpipe::bench
