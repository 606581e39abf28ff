#include "sre/sre_processor.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "event/codec.h"

namespace viewpipe::sre {
namespace {

int64_t WatermarkTime(const EventView& e) {
  return e.received_at_ms > 0 ? std::min(e.ts_ms, e.received_at_ms) : e.ts_ms;
}

}  // namespace

SreProcessor::SreProcessor(Log* log, std::string topic, SreState* state, AlertBook* book,
                           Clock* clock, MetricsRegistry* metrics)
    : log_(log),
      topic_(std::move(topic)),
      state_(state),
      book_(book),
      clock_(clock),
      health_(state->options().health, log, metrics, book, clock) {
  if (metrics == nullptr) return;
  events_ = metrics->GetCounter("viewpipe_sre_events_total", "Events applied by the SRE path");
  corrupt_ = metrics->GetCounter("viewpipe_sre_corrupt_records_total",
                                 "Records of the qoe topic the SRE path could not decode");
  late_ = metrics->GetCounter("viewpipe_sre_late_contributions_total",
                              "Contributions to a QoE window after it closed (the series are "
                              "amended; the detector had judged it)");
  const std::string absurd_help = "Absurd values excluded (startup, bitrate) or clamped (stall)";
  absurd_startup_ = metrics->GetCounter("viewpipe_sre_absurd_values_total", absurd_help,
                                        {{"field", "startup_ms"}});
  absurd_rebuffer_ = metrics->GetCounter("viewpipe_sre_absurd_values_total", absurd_help,
                                         {{"field", "rebuffer_ms"}});
  absurd_bitrate_ = metrics->GetCounter("viewpipe_sre_absurd_values_total", absurd_help,
                                        {{"field", "bitrate_kbps"}});
  watermark_ = metrics->GetGauge("viewpipe_sre_watermark_ms", "The SRE watermark (event time)");
  closed_through_ = metrics->GetGauge("viewpipe_sre_closed_through_ms",
                                      "End of the newest closed QoE window (event time)");
  sessions_ = metrics->GetGauge("viewpipe_sre_sessions", "Sessions the SRE path tracks");
  open_alerts_ = metrics->GetGauge("viewpipe_sre_open_alerts", "Open SRE alerts");
}

Result<std::map<PartitionId, Offset>> SreProcessor::Restore() {
  std::map<PartitionId, Offset> offsets;
  partitions_.clear();
  for (PartitionId p = 0; p < log_->Partitions(topic_); ++p) {
    const Offset start = log_->StartOffset(topic_, p);
    partitions_[p] = PartitionState{start, kNoTime};
    offsets[p] = start;
  }
  spdlog::info("sre: rebuilding the QoE state from the start of `{}` ({} partitions)", topic_,
               offsets.size());
  return offsets;
}

Status SreProcessor::Process(std::span<const ConsumedRecord> records) {
  uint64_t corrupt = 0;
  for (const ConsumedRecord& r : records) {
    PartitionState& ps = partitions_[r.partition];
    ps.next = r.offset + 1;
    if (!DecodeEvent(r.value, &event_).ok()) {
      ++corrupt;
      continue;
    }
    state_->Apply(event_);
    ps.time = std::max(ps.time, WatermarkTime(event_));
  }
  if (corrupt > 0) {
    spdlog::error("sre: {} records of {} could not be decoded; skipped", corrupt, topic_);
    if (corrupt_ != nullptr) corrupt_->Inc(corrupt);
  }
  bool caught_up;
  const int64_t w = PartitionWatermark(&caught_up);
  if (w != kNoTime) state_->AdvanceWatermark(w);
  health_.Check();
  SyncMetrics();
  return Status::OK();
}

int64_t SreProcessor::PartitionWatermark(bool* caught_up) const {
  int64_t newest = kNoTime;
  int64_t slowest_behind = INT64_MAX;
  *caught_up = true;
  for (const auto& [p, ps] : partitions_) {
    newest = std::max(newest, ps.time);
    if (ps.next >= log_->EndOffset(topic_, p)) continue;
    *caught_up = false;
    if (ps.time == kNoTime) return kNoTime;
    slowest_behind = std::min(slowest_behind, ps.time);
  }
  return std::min(newest, slowest_behind);
}

void SreProcessor::Idle() {
  bool caught_up;
  const int64_t w = PartitionWatermark(&caught_up);
  const int64_t now = clock_->NowMs();
  const SreOptions& o = state_->options();
  if (caught_up && w != kNoTime && w >= now - o.live_window_ms) {
    state_->AdvanceWatermark(std::max(w, now - o.idle_lag_ms));
  }
  health_.Check();
  SyncMetrics();
}

void SreProcessor::SyncMetrics() {
  if (events_ == nullptr) return;
  const QoeSessionTracker::Stats s = state_->stats();
  events_->Inc(s.events - synced_.events);
  late_->Inc(s.late_contributions - synced_.late_contributions);
  absurd_startup_->Inc(s.absurd_startup - synced_.absurd_startup);
  absurd_rebuffer_->Inc(s.absurd_rebuffer - synced_.absurd_rebuffer);
  absurd_bitrate_->Inc(s.absurd_bitrate - synced_.absurd_bitrate);
  synced_ = s;
  if (auto w = state_->watermark()) watermark_->Set(static_cast<double>(*w));
  const int64_t closed = state_->closed_through();
  if (closed != OpenWindows::kNothingClosed) closed_through_->Set(static_cast<double>(closed));
  sessions_->Set(static_cast<double>(state_->sessions()));
  open_alerts_->Set(static_cast<double>(book_->open_count()));
}

}  // namespace viewpipe::sre
