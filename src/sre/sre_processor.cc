#include "sre/sre_processor.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "event/codec.h"
#include "ops/bytes.h"
#include "ops/checkpoint_file.h"

namespace viewpipe::sre {
namespace {

constexpr uint8_t kSectionPartitions = 1;  // then SreState's sections

int64_t WatermarkTime(const EventView& e) {
  return e.received_at_ms > 0 ? std::min(e.ts_ms, e.received_at_ms) : e.ts_ms;
}

}  // namespace

SreProcessor::SreProcessor(Log* log, std::string topic, SreState* state, AlertBook* book,
                           Clock* clock, MetricsRegistry* metrics, Env* env, std::string dir)
    : log_(log),
      topic_(std::move(topic)),
      state_(state),
      book_(book),
      clock_(clock),
      env_(env),
      dir_(std::move(dir)),
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
  restored_ = metrics->GetGauge("viewpipe_sre_restored_records",
                                "Records of the qoe topic the checkpoint restored at startup "
                                "covered (not replayed); 0 when the state was rebuilt from the "
                                "start of the topic");
  checkpoint_bytes_ =
      metrics->GetGauge("viewpipe_sre_checkpoint_bytes", "Size of the last SRE checkpoint");
  checkpoint_seconds_ = metrics->GetHistogram("viewpipe_sre_checkpoint_seconds",
                                              "Time to write one SRE checkpoint",
                                              {0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5});
}

std::string SreProcessor::checkpoint_path() const { return JoinPath(dir_, "checkpoint"); }

Status SreProcessor::LoadCheckpoint(std::map<PartitionId, Offset>* offsets) {
  if (env_ == nullptr || dir_.empty()) return Status::NotFound("no checkpoint directory");
  auto reader = ops::CheckpointReader::Open(env_, checkpoint_path());
  if (!reader.ok()) return reader.status();
  uint8_t kind;
  std::string payload;
  VP_RETURN_IF_ERROR((*reader)->Next(&kind, &payload));
  std::string_view in = payload;
  uint64_t n;
  if (kind != kSectionPartitions || !ops::bytes::GetCount(&in, 1u << 16, &n)) {
    return Status::Corruption("sre checkpoint: bad partitions section");
  }
  std::map<PartitionId, PartitionState> partitions;
  for (uint64_t i = 0; i < n; ++i) {
    uint64_t p, next;
    int64_t time;
    if (!ops::bytes::GetCount(&in, INT32_MAX, &p) || !ops::bytes::GetCount(&in, INT64_MAX, &next) ||
        !ops::bytes::GetSigned(&in, &time)) {
      return Status::Corruption("sre checkpoint: bad partition entry");
    }
    const auto pid = static_cast<PartitionId>(p);
    if (static_cast<Offset>(next) > log_->EndOffset(topic_, pid)) {
      return Status::Corruption("sre checkpoint is ahead of the log (partition " +
                                std::to_string(p) + ")");
    }
    partitions[pid] = {static_cast<Offset>(next), time};
  }
  if (!in.empty()) return Status::Corruption("sre checkpoint: bad partitions section");
  VP_RETURN_IF_ERROR(state_->Load(reader->get(), kSectionPartitions + 1));
  Status end = (*reader)->Next(&kind, &payload);  // checks the section count
  if (end.ok() && kind != ops::CheckpointReader::kEnd) {
    end = Status::Corruption("sre checkpoint: sections after the state");
  }
  if (!end.ok()) {
    state_->Load(nullptr, 0);  // clears it
    return end;
  }
  restored_records_ = 0;
  for (const auto& [p, ps] : partitions) {
    (*offsets)[p] = ps.next;
    const Offset start = log_->StartOffset(topic_, p);
    if (ps.next > start) restored_records_ += static_cast<uint64_t>(ps.next - start);
  }
  partitions_ = std::move(partitions);
  return Status::OK();
}

Result<std::map<PartitionId, Offset>> SreProcessor::Restore() {
  RemoveStaleTemporaries();
  std::map<PartitionId, Offset> offsets;
  const int64_t t0 = clock_->MonotonicMicros();
  Status st = LoadCheckpoint(&offsets);
  if (st.ok()) {
    std::string at;
    for (const auto& [p, o] : offsets) at += fmt::format("{}{}:{}", at.empty() ? "" : " ", p, o);
    spdlog::info("sre: restored the QoE state from {} in {} ms: resuming `{}` at {} ({} records "
                 "not replayed)",
                 checkpoint_path(), (clock_->MonotonicMicros() - t0) / 1000, topic_, at,
                 restored_records_);
  } else {
    if (!st.IsNotFound()) {
      spdlog::warn("sre: checkpoint {} unusable ({}): rebuilding the QoE state from the start",
                   checkpoint_path(), st.ToString());
      if (env_->FileExists(checkpoint_path())) {
        env_->RenameFile(checkpoint_path(), checkpoint_path() + ".bad");
      }
    }
    offsets.clear();
    partitions_.clear();
    restored_records_ = 0;
    for (PartitionId p = 0; p < log_->Partitions(topic_); ++p) {
      const Offset start = log_->StartOffset(topic_, p);
      partitions_[p] = PartitionState{start, kNoTime};
      offsets[p] = start;
    }
    spdlog::info("sre: rebuilding the QoE state from the start of `{}` ({} partitions)", topic_,
                 offsets.size());
  }
  synced_ = state_->stats();
  restored_at_us_ = clock_->MonotonicMicros();
  events_at_restore_ = synced_.events;
  caught_up_logged_ = false;
  if (restored_ != nullptr) restored_->Set(static_cast<double>(restored_records_));
  return offsets;
}

void SreProcessor::RemoveStaleTemporaries() {
  if (env_ == nullptr || dir_.empty()) return;
  auto names = env_->GetChildren(dir_);
  if (!names.ok()) return;
  for (const std::string& name : *names) {
    if (name.rfind("checkpoint.tmp", 0) == 0) env_->RemoveFile(JoinPath(dir_, name));
  }
}

Status SreProcessor::WriteCheckpoint() {
  auto writer = ops::CheckpointWriter::Create(env_, checkpoint_path());
  if (!writer.ok()) return writer.status();
  std::string section;
  ops::bytes::PutVarint(&section, partitions_.size());
  for (const auto& [p, ps] : partitions_) {
    ops::bytes::PutVarint(&section, static_cast<uint64_t>(p));
    ops::bytes::PutVarint(&section, static_cast<uint64_t>(ps.next));
    ops::bytes::PutSigned(&section, ps.time);
  }
  VP_RETURN_IF_ERROR((*writer)->Section(kSectionPartitions, section));
  VP_RETURN_IF_ERROR(state_->Save(writer->get(), kSectionPartitions + 1));
  VP_RETURN_IF_ERROR((*writer)->Commit());
  if (checkpoint_bytes_ != nullptr) checkpoint_bytes_->Set(static_cast<double>((*writer)->bytes()));
  return Status::OK();
}

// The runner calls this before it commits next_offsets: the state covers
// exactly the records before them (Process handled them all).
Status SreProcessor::Checkpoint(const std::map<PartitionId, Offset>& next_offsets) {
  if (env_ == nullptr || dir_.empty()) return Status::OK();
  for (const auto& [p, next] : next_offsets) partitions_[p].next = next;
  const int64_t t0 = clock_->MonotonicMicros();
  VP_RETURN_IF_ERROR(WriteCheckpoint());
  if (checkpoint_seconds_ != nullptr) {
    checkpoint_seconds_->Observe(static_cast<double>(clock_->MonotonicMicros() - t0) / 1e6);
  }
  return Status::OK();
}

Status SreProcessor::Process(std::span<const ConsumedRecord> records) {
  uint64_t corrupt = 0;
  for (const ConsumedRecord& r : records) {
    PartitionState& ps = partitions_[r.partition];
    ps.next = r.offset + 1;
    if (!DecodeEvent(r.value, &event_, &event_ids_).ok()) {
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
  if (caught_up && !caught_up_logged_) {
    // How fast the buffer drained: what was replayed after the checkpoint
    // (or the whole topic), the gap of a consumer outage included.
    caught_up_logged_ = true;
    spdlog::info("sre: caught up: {} records applied in {} ms since the restore",
                 state_->stats().events - events_at_restore_,
                 (clock_->MonotonicMicros() - restored_at_us_) / 1000);
  }
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
