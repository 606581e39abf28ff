#include "stream/consumer_runner.h"

#include <pthread.h>
#include <spdlog/spdlog.h>

#include <algorithm>

namespace viewpipe {

Result<std::map<PartitionId, Offset>> Processor::Reassign(const std::vector<PartitionId>& lost,
                                                          const std::vector<PartitionId>& gained) {
  return Status::Aborted(
      "the consumer group moved partitions (lost " + std::to_string(lost.size()) + ", gained " +
      std::to_string(gained.size()) +
      "): another process of this path joined its group, and this path keeps one state for all "
      "partitions, so it runs as one process only (docs/scale.md); stopping rather than "
      "counting or writing twice");
}

namespace {

std::vector<PartitionId> Sorted(std::vector<PartitionId> v) {
  std::sort(v.begin(), v.end());
  return v;
}

std::vector<PartitionId> Minus(const std::vector<PartitionId>& a,
                               const std::vector<PartitionId>& b) {
  std::vector<PartitionId> out;
  std::set_difference(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
  return out;
}

}  // namespace

ConsumerRunner::ConsumerRunner(Log* log, Processor* processor, MetricsRegistry* metrics,
                               ConsumerRunnerOptions options)
    : log_(log), processor_(processor), options_(std::move(options)) {
  if (metrics != nullptr) {
    Labels labels = {{"group", options_.group}, {"topic", options_.topic}};
    records_metric_ = metrics->GetCounter("viewpipe_consumer_records_total",
                                          "Records processed by a consumer path", labels);
    batch_seconds_ = metrics->GetHistogram(
        "viewpipe_consumer_batch_seconds", "Time to process one polled batch",
        {0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5}, labels);
  }
}

ConsumerRunner::~ConsumerRunner() { Stop(); }

Status ConsumerRunner::Start() {
  auto consumer = log_->Subscribe(options_.group, options_.topic);
  if (!consumer.ok()) return consumer.status();
  consumer_ = std::move(consumer).value();
  auto restored = processor_->Restore();
  if (!restored.ok()) return restored.status();
  for (const auto& [p, offset] : *restored) VP_RETURN_IF_ERROR(consumer_->Seek(p, offset));
  assignment_ = Sorted(consumer_->Assignment());
  if (processor_->PerPartitionState()) {
    const std::vector<PartitionId> first = assignment_;
    assignment_.clear();
    VP_RETURN_IF_ERROR(ApplyReassign({}, first));
    assignment_ = first;
  }
  // Commit restored positions too, so a partition that gets no new records
  // does not show the lag of an older committed offset.
  auto committed = log_->Committed(options_.group, options_.topic);
  for (const auto& [p, offset] : *restored) {
    next_[p] = offset;
    if (!committed.ok() || committed->count(p) == 0 || committed->at(p) != offset) dirty_ = true;
  }
  stop_ = false;
  thread_ = std::thread([this] { Run(); });
  return Status::OK();
}

void ConsumerRunner::Stop() {
  if (!thread_.joinable()) return;
  stop_ = true;
  thread_.join();
  if (error().ok()) {
    Status st = CheckpointAndCommit();
    if (!st.ok()) spdlog::error("{}: final checkpoint: {}", options_.group, st.ToString());
  }
}

Status ConsumerRunner::error() const {
  std::lock_guard<std::mutex> lock(error_mu_);
  return error_;
}

Status ConsumerRunner::CheckpointAndCommit() {
  if (!dirty_) return Status::OK();
  VP_RETURN_IF_ERROR(processor_->Checkpoint(next_));
  Status st = consumer_->Commit(next_);
  if (!st.ok() && processor_->PerPartitionState()) {
    // A group in a rebalance refuses commits; the processor's own
    // checkpoints are what it restores from, so the next checkpoint retries.
    spdlog::warn("{}: commit: {} (retried at the next checkpoint)", options_.group,
                 st.ToString());
    return Status::OK();
  }
  VP_RETURN_IF_ERROR(st);
  dirty_ = false;
  return Status::OK();
}

Status ConsumerRunner::ApplyReassign(const std::vector<PartitionId>& lost,
                                     const std::vector<PartitionId>& gained) {
  auto offsets = processor_->Reassign(lost, gained);
  if (!offsets.ok()) return offsets.status();
  for (PartitionId p : lost) next_.erase(p);
  for (PartitionId p : gained) {
    auto it = offsets->find(p);
    if (it == offsets->end()) continue;
    VP_RETURN_IF_ERROR(consumer_->Seek(p, it->second));
    next_[p] = it->second;
  }
  dirty_ = true;
  return Status::OK();
}

Status ConsumerRunner::FollowAssignment(std::vector<PartitionId>* kept) {
  const std::vector<PartitionId> now = Sorted(consumer_->Assignment());
  kept->clear();
  std::set_intersection(assignment_.begin(), assignment_.end(), now.begin(), now.end(),
                        std::back_inserter(*kept));
  if (now == assignment_) return Status::OK();
  // Between a revoke and the next assign the consumer has no partitions:
  // wait for the new assignment (a sole member gets all of them back, a
  // group member usually most of its own) rather than drop every state.
  if (now.empty()) {
    *kept = assignment_;
    return Status::OK();
  }
  const std::vector<PartitionId> lost = Minus(assignment_, now);
  const std::vector<PartitionId> gained = Minus(now, assignment_);
  spdlog::info("{}: partitions moved: lost {}, gained {}", options_.group, lost.size(),
               gained.size());
  assignment_ = now;
  return ApplyReassign(lost, gained);
}

void ConsumerRunner::Run() {
  // "vp-<group>": per-thread CPU and run-queue wait in the benchmarks.
  ::pthread_setname_np(::pthread_self(), ("vp-" + options_.group).substr(0, 15).c_str());
  const Status sched = ApplyThreadSched(options_.sched);
  if (!sched.ok()) spdlog::warn("{}: scheduling not applied: {}", options_.group, sched.ToString());
  auto last_checkpoint = std::chrono::steady_clock::now();
  Status st;
  while (!stop_.load() && st.ok()) {
    auto polled = consumer_->Poll(options_.max_poll_records, options_.poll_timeout);
    if (!polled.ok()) {
      st = polled.status();
      break;
    }
    std::vector<ConsumedRecord>& records = *polled;
    std::vector<PartitionId> kept;
    st = FollowAssignment(&kept);
    if (!st.ok()) break;
    // Records of partitions that just moved: lost ones are not ours to
    // count, gained ones are read again from where Reassign put them.
    std::erase_if(records, [&kept](const ConsumedRecord& r) {
      return !std::binary_search(kept.begin(), kept.end(), r.partition);
    });
    if (records.empty()) {
      processor_->Idle();
    } else {
      auto t0 = std::chrono::steady_clock::now();
      st = processor_->Process(records);
      if (!st.ok()) break;
      for (const ConsumedRecord& r : records) next_[r.partition] = r.offset + 1;
      dirty_ = true;
      processed_ += records.size();
      if (records_metric_ != nullptr) records_metric_->Inc(records.size());
      if (batch_seconds_ != nullptr) {
        batch_seconds_->Observe(
            std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
      }
    }
    if (std::chrono::steady_clock::now() - last_checkpoint >= options_.checkpoint_interval) {
      st = CheckpointAndCommit();
      last_checkpoint = std::chrono::steady_clock::now();
    }
  }
  if (!st.ok()) {
    spdlog::error("consumer path {} stopped: {}", options_.group, st.ToString());
    std::lock_guard<std::mutex> lock(error_mu_);
    error_ = st;
  }
}

}  // namespace viewpipe
