#include "stream/consumer_runner.h"

#include <spdlog/spdlog.h>

namespace viewpipe {

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
  VP_RETURN_IF_ERROR(consumer_->Commit(next_));
  dirty_ = false;
  return Status::OK();
}

void ConsumerRunner::Run() {
  auto last_checkpoint = std::chrono::steady_clock::now();
  Status st;
  while (!stop_.load() && st.ok()) {
    auto polled = consumer_->Poll(options_.max_poll_records, options_.poll_timeout);
    if (!polled.ok()) {
      st = polled.status();
      break;
    }
    const std::vector<ConsumedRecord>& records = *polled;
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
