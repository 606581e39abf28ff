#include "ops/ops_processor.h"

#include <spdlog/spdlog.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstring>

#include "event/codec.h"
#include "ops/bytes.h"
#include "ops/checkpoint_file.h"

namespace viewpipe::ops {
namespace {

constexpr uint8_t kSectionProcessor = 16;
// Idle sessions looked at per batch: a couple per event, so a sweep over
// the table takes about as long as the events that filled it.
constexpr size_t kEvictPerRecord = 2;
constexpr size_t kEvictPerIdle = 65536;
constexpr int64_t kGaugeIntervalMs = 5000;

}  // namespace

OpsProcessor::OpsProcessor(Log* log, std::string topic, OpsState* state, Env* env,
                           std::string dir, Clock* clock, MetricsRegistry* metrics,
                           const OpsOptions& options)
    : log_(log),
      topic_(std::move(topic)),
      state_(state),
      env_(env),
      dir_(std::move(dir)),
      clock_(clock),
      options_(options) {
  if (metrics == nullptr) return;
  events_ = metrics->GetCounter("viewpipe_ops_events_total", "Events applied by the ops path");
  corrupt_ = metrics->GetCounter("viewpipe_ops_corrupt_records_total",
                                 "Records of the viewing topic the ops path could not decode");
  late_beyond_bound_ = metrics->GetCounter(
      "viewpipe_ops_late_beyond_bound_total",
      "Events older than the ops lateness bound: applied to their session, but the frozen "
      "seconds they belong to were not corrected");
  evicted_ = metrics->GetCounter("viewpipe_ops_sessions_evicted_total",
                                 "Sessions forgotten after timeout + lateness without events");
  trail_overflows_ = metrics->GetCounter(
      "viewpipe_ops_trail_overflows_total",
      "Event times dropped early because one session sent too many events");
  restored_ = metrics->GetCounter("viewpipe_ops_restores_total",
                                  "Ops state restores at start", {{"outcome", "checkpoint"}});
  rebuilt_ = metrics->GetCounter("viewpipe_ops_restores_total", "Ops state restores at start",
                                 {{"outcome", "rebuild"}});
  sessions_ = metrics->GetGauge("viewpipe_ops_sessions", "Sessions the ops path tracks");
  state_bytes_ = metrics->GetGauge("viewpipe_ops_state_bytes",
                                   "Memory of the ops state: sessions, series and names");
  session_bytes_ = metrics->GetGauge("viewpipe_ops_session_bytes",
                                     "Memory of the ops sessions (table, index and event times)");
  watermark_ = metrics->GetGauge("viewpipe_ops_watermark_ms", "The ops watermark (event time)");
  as_of_ = metrics->GetGauge("viewpipe_ops_as_of_ms",
                             "Start of the newest complete second (event time)");
  checkpoint_bytes_ =
      metrics->GetGauge("viewpipe_ops_checkpoint_bytes", "Size of the last ops checkpoint");
  checkpoint_seconds_ = metrics->GetHistogram("viewpipe_ops_checkpoint_seconds",
                                              "Time to write one ops checkpoint",
                                              {0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30});
}

std::string OpsProcessor::checkpoint_path() const { return JoinPath(dir_, "checkpoint"); }

// ------------------------------------------------------------ restore

Status OpsProcessor::LoadCheckpoint(std::map<PartitionId, Offset>* offsets) {
  auto reader = CheckpointReader::Open(env_, checkpoint_path());
  if (!reader.ok()) return reader.status();
  uint8_t kind;
  std::string payload;
  VP_RETURN_IF_ERROR((*reader)->Next(&kind, &payload));
  std::string_view in = payload;
  uint64_t n;
  if (kind != kSectionProcessor || !bytes::GetCount(&in, 1u << 16, &n)) {
    return Status::Corruption("ops checkpoint: bad processor section");
  }
  std::map<PartitionId, PartitionState> partitions;
  for (uint64_t i = 0; i < n; ++i) {
    uint64_t p, next;
    int64_t time;
    if (!bytes::GetCount(&in, INT32_MAX, &p) || !bytes::GetCount(&in, INT64_MAX, &next) ||
        !bytes::GetSigned(&in, &time)) {
      return Status::Corruption("ops checkpoint: bad partition entry");
    }
    partitions[static_cast<PartitionId>(p)] = {static_cast<Offset>(next), time};
  }
  if (!in.empty()) return Status::Corruption("ops checkpoint: bad processor section");
  auto tracker = std::make_unique<SessionTracker>(options_.tracker);
  VP_RETURN_IF_ERROR(tracker->Load(reader->get()));
  for (const auto& [p, ps] : partitions) {
    if (ps.next > log_->EndOffset(topic_, p)) {
      return Status::Corruption("ops checkpoint is ahead of the log (partition " +
                                std::to_string(p) + ")");
    }
    (*offsets)[p] = ps.next;
  }
  partitions_ = std::move(partitions);
  state_->Reset(std::move(tracker));
  return Status::OK();
}

Result<std::map<PartitionId, Offset>> OpsProcessor::Restore() {
  RemoveStaleTemporaries();
  std::map<PartitionId, Offset> offsets;
  const int64_t t0 = clock_->MonotonicMicros();
  Status st = LoadCheckpoint(&offsets);
  if (st.ok()) {
    if (restored_ != nullptr) restored_->Inc();
    spdlog::info("ops: restored {} sessions from {} in {} ms", state_->owner_view().sessions(),
                 checkpoint_path(), (clock_->MonotonicMicros() - t0) / 1000);
  } else {
    if (st.IsNotFound()) {
      spdlog::info("ops: no checkpoint at {}: building the state from the start of the log",
                   checkpoint_path());
    } else {
      spdlog::warn("ops: checkpoint {} unusable ({}): rebuilding the state from the start of "
                   "the log",
                   checkpoint_path(), st.ToString());
      if (env_->FileExists(checkpoint_path())) {
        env_->RenameFile(checkpoint_path(), checkpoint_path() + ".bad");
      }
    }
    if (rebuilt_ != nullptr) rebuilt_->Inc();
    state_->Reset(std::make_unique<SessionTracker>(options_.tracker));
    partitions_.clear();
    offsets.clear();
  }
  // Every partition gets an explicit position: a partition the checkpoint
  // does not know starts at the beginning of the log, never at the group's
  // committed offset (which may be ahead of the state).
  for (PartitionId p = 0; p < log_->Partitions(topic_); ++p) {
    const Offset start = log_->StartOffset(topic_, p);
    auto it = partitions_.find(p);
    if (it == partitions_.end()) {
      it = partitions_.emplace(p, PartitionState{start, kNoTime}).first;
    } else if (it->second.next < start) {
      spdlog::warn("ops: partition {} lost records {}..{} to retention before they were counted",
                   p, it->second.next, start - 1);
      it->second.next = start;
    }
    offsets[p] = it->second.next;
  }
  state_->Publish();
  SyncMetrics();
  return offsets;
}

// ------------------------------------------------------------ processing

Status OpsProcessor::Process(std::span<const ConsumedRecord> records) {
  uint64_t corrupt = 0;
  state_->Write([&](SessionTracker& tracker) {
    for (const ConsumedRecord& r : records) {
      PartitionState& ps = partitions_[r.partition];
      ps.next = r.offset + 1;
      if (!DecodeEvent(r.value, &event_, &event_ids_).ok()) {
        ++corrupt;
        continue;
      }
      tracker.Apply(event_);
      ps.time = std::max(ps.time, SessionTracker::WatermarkTime(event_));
    }
    AfterBatch(tracker, records.size());
  });
  if (corrupt > 0) {
    spdlog::error("ops: {} records of {} could not be decoded; skipped", corrupt, topic_);
    if (corrupt_ != nullptr) corrupt_->Inc(corrupt);
  }
  dirty_ = true;
  MaybePublish(false);
  ReapChild(/*block=*/false);
  return Status::OK();
}

int64_t OpsProcessor::PartitionWatermark(bool* caught_up) const {
  int64_t newest = kNoTime;
  int64_t slowest_behind = INT64_MAX;
  *caught_up = true;
  for (const auto& [p, ps] : partitions_) {
    newest = std::max(newest, ps.time);
    if (ps.next >= log_->EndOffset(topic_, p)) continue;
    *caught_up = false;
    // A partition with unread records and no time yet holds time still.
    if (ps.time == kNoTime) return kNoTime;
    slowest_behind = std::min(slowest_behind, ps.time);
  }
  return std::min(newest, slowest_behind);
}

void OpsProcessor::AfterBatch(SessionTracker& tracker, size_t records) {
  bool caught_up;
  const int64_t w = PartitionWatermark(&caught_up);
  if (w != kNoTime) tracker.AdvanceWatermark(w);
  tracker.EvictIdle(records * kEvictPerRecord + 64);
}

void OpsProcessor::Idle() {
  ReapChild(/*block=*/false);
  const SessionTracker& view = state_->owner_view();
  if (!view.has_time()) return;
  bool caught_up;
  PartitionWatermark(&caught_up);
  const int64_t now = clock_->NowMs();
  const bool live = view.watermark() >= now - options_.live_window_ms;
  const int64_t target = now - options_.idle_lag_ms;
  if (caught_up && live && target > view.watermark()) {
    const int64_t as_of = view.as_of();
    state_->Write([&](SessionTracker& tracker) {
      tracker.AdvanceWatermark(target);
      tracker.EvictIdle(kEvictPerIdle);
    });
    if (view.as_of() != as_of) dirty_ = true;
  }
  MaybePublish(true);
}

void OpsProcessor::MaybePublish(bool force) {
  const int64_t now = clock_->NowMs();
  if (!dirty_) return;
  if (!force && now - last_publish_ms_ < options_.publish_interval_ms) {
    const auto latest = state_->Latest();
    // A new complete second goes out at once; corrections wait a little.
    if (latest != nullptr && latest->as_of == state_->owner_view().as_of()) return;
  }
  state_->Publish();
  last_publish_ms_ = now;
  dirty_ = false;
  SyncMetrics();
}

void OpsProcessor::SyncMetrics() {
  const SessionTracker& t = state_->owner_view();
  const SessionTracker::Stats& s = t.stats();
  if (events_ != nullptr) {
    events_->Inc(s.events - synced_.events);
    late_beyond_bound_->Inc(s.late_beyond_bound - synced_.late_beyond_bound);
    evicted_->Inc(s.sessions_evicted - synced_.sessions_evicted);
    trail_overflows_->Inc(s.trail_overflows - synced_.trail_overflows);
    sessions_->Set(static_cast<double>(t.sessions()));
    if (t.has_time()) {
      watermark_->Set(static_cast<double>(t.watermark()));
      as_of_->Set(static_cast<double>(t.as_of() * 1000));
    }
    const int64_t now = clock_->NowMs();
    if (now - last_gauges_ms_ >= kGaugeIntervalMs) {  // memory accounting walks the keys
      last_gauges_ms_ = now;
      state_bytes_->Set(static_cast<double>(t.MemoryBytes()));
      session_bytes_->Set(static_cast<double>(t.SessionBytes()));
    }
  }
  synced_ = s;
}

// ------------------------------------------------------------ checkpoint

Status OpsProcessor::WriteCheckpoint() {
  auto writer = CheckpointWriter::Create(env_, checkpoint_path());
  if (!writer.ok()) return writer.status();
  std::string section;
  bytes::PutVarint(&section, partitions_.size());
  for (const auto& [p, ps] : partitions_) {
    bytes::PutVarint(&section, static_cast<uint64_t>(p));
    bytes::PutVarint(&section, static_cast<uint64_t>(ps.next));
    bytes::PutSigned(&section, ps.time);
  }
  VP_RETURN_IF_ERROR((*writer)->Section(kSectionProcessor, section));
  // Only the consumer thread writes the tracker, so it reads it unlocked.
  VP_RETURN_IF_ERROR(state_->owner_view().Save(writer->get()));
  VP_RETURN_IF_ERROR((*writer)->Commit());
  if (checkpoint_bytes_ != nullptr) checkpoint_bytes_->Set(static_cast<double>((*writer)->bytes()));
  return Status::OK();
}

// The forked writer. Async-signal-safe calls only until the state is read:
// no logging, no locks (another thread may have held one at the fork).
void OpsProcessor::RunChild() {
  const pid_t parent = ::getppid();
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != parent) ::_exit(3);  // the server died before the prctl
  ::close_range(3, ~0U, 0);  // the log's lock, sockets: none of them is ours
  Status st = WriteCheckpoint();
  if (!st.ok()) {
    const std::string msg = "ops: background checkpoint failed: " + st.ToString() + "\n";
    (void)!::write(2, msg.data(), msg.size());
    ::_exit(1);
  }
  ::_exit(0);
}

Status OpsProcessor::ReapChild(bool block) {
  if (child_ <= 0) return Status::OK();
  int status = 0;
  const pid_t r = ::waitpid(child_, &status, block ? 0 : WNOHANG);
  if (r == 0) return Status::OK();  // still writing
  const pid_t pid = child_;
  child_ = -1;
  if (r < 0) return Status::IOError("ops: waiting for checkpoint writer " + std::to_string(pid) +
                                    ": " + std::strerror(errno));
  if (checkpoint_seconds_ != nullptr) {
    checkpoint_seconds_->Observe(
        static_cast<double>(clock_->MonotonicMicros() - child_started_us_) / 1e6);
    auto size = env_->FileSize(checkpoint_path());
    if (size.ok()) checkpoint_bytes_->Set(static_cast<double>(*size));
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return Status::OK();
  Status st = Status::IOError("ops: background checkpoint writer " + std::to_string(pid) +
                              " failed (status " + std::to_string(status) + ")");
  spdlog::error("{}", st.ToString());
  return st;
}

Status OpsProcessor::WaitForBackgroundCheckpoint() { return ReapChild(/*block=*/true); }

void OpsProcessor::RemoveStaleTemporaries() {
  auto names = env_->GetChildren(dir_);
  if (!names.ok()) return;
  for (const std::string& name : *names) {
    if (name.rfind("checkpoint.tmp", 0) == 0) env_->RemoveFile(JoinPath(dir_, name));
  }
}

Status OpsProcessor::Checkpoint(const std::map<PartitionId, Offset>& next_offsets) {
  for (const auto& [p, next] : next_offsets) partitions_[p].next = next;
  const bool background = options_.background_checkpoint && !synchronous_;
  ReapChild(/*block=*/!background);
  if (child_ > 0) return Status::OK();  // the previous one is still being written
  if (background) {
    const int64_t t0 = clock_->MonotonicMicros();
    const pid_t pid = ::fork();
    if (pid == 0) RunChild();
    if (pid > 0) {
      child_ = pid;
      child_started_us_ = t0;
      return Status::OK();
    }
    spdlog::warn("ops: fork for a background checkpoint failed ({}); writing it here",
                 std::strerror(errno));
  }
  const int64_t t0 = clock_->MonotonicMicros();
  VP_RETURN_IF_ERROR(WriteCheckpoint());
  if (checkpoint_seconds_ != nullptr) {
    checkpoint_seconds_->Observe(static_cast<double>(clock_->MonotonicMicros() - t0) / 1e6);
  }
  return Status::OK();
}

}  // namespace viewpipe::ops
