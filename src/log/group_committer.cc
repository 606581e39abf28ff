#include "log/group_committer.h"

#include <algorithm>
#include <chrono>

#include "log/record_batch.h"

namespace viewpipe {

GroupCommitter::GroupCommitter(std::vector<Partition*> partitions, const Options& options,
                               DurableSignal* signal, const LogMetrics* metrics)
    : partitions_(std::move(partitions)),
      options_(options),
      signal_(signal),
      metrics_(metrics),
      sync_workers_(options.sync_threads),
      write_parts_(partitions_.size()),
      write_bytes_(partitions_.size()),
      group_end_(partitions_.size()),
      group_max_ts_(partitions_.size()) {
  for (Partition* p : partitions_) next_.push_back(p->written_end());
}

GroupCommitter::~GroupCommitter() { Close(); }

void GroupCommitter::Close() {
  std::unique_lock<std::mutex> lock(mu_);
  closed_ = true;
  closed_cv_.wait(lock, [&] { return !leader_active_ && queue_.empty(); });
}

void GroupCommitter::Waiter::Signal(Wake w) {
  std::lock_guard<std::mutex> lock(wake_mu);
  wake = w;
  wake_cv.notify_one();
}

GroupCommitter::Waiter::Wake GroupCommitter::Waiter::Sleep() {
  std::unique_lock<std::mutex> lock(wake_mu);
  wake_cv.wait(lock, [&] { return wake != Wake::kNone; });
  return wake;
}

Status GroupCommitter::health() const {
  std::lock_guard<std::mutex> lock(mu_);
  return failed_;
}

Status GroupCommitter::CheckFreeSpace(uint64_t bytes) {
  if (options_.min_free_bytes == 0) return Status::OK();
  // statvfs per Append: well under a microsecond, and never stale.
  auto measured = options_.env->FreeSpace(options_.dir);
  if (!measured.ok()) return measured.status();
  uint64_t free = *measured;
  if (free >= options_.min_free_bytes + bytes) return Status::OK();
  LogMetrics::Inc(metrics_->no_space);
  return Status::NoSpace("log disk has " + std::to_string(free) +
                         " bytes free, below min_free_bytes " +
                         std::to_string(options_.min_free_bytes) + " plus this append");
}

Status GroupCommitter::Commit(std::span<PendingBatch> batches, uint64_t bytes) {
  VP_RETURN_IF_ERROR(CheckFreeSpace(bytes));
  Waiter w;
  w.batches = batches;
  w.bytes = bytes;
  std::unique_lock<std::mutex> lock(mu_);
  if (!failed_.ok()) return failed_;
  if (closed_) return Status::Aborted("log is closed");
  if (queued_bytes_ + bytes > options_.max_pending_bytes) {
    LogMetrics::Inc(metrics_->buffer_full);
    return Status::Unavailable("log buffer full: " + std::to_string(queued_bytes_) +
                               " bytes waiting for fsync (max_pending_bytes " +
                               std::to_string(options_.max_pending_bytes) + ")");
  }
  Number(&w);
  queue_.push_back(&w);
  queued_bytes_ += bytes;
  if (leader_active_) {
    lock.unlock();
    // Woken once: done (status set by the leader before the wake), or
    // elected to lead the group this waiter is queued in.
    if (w.Sleep() == Waiter::Wake::kDone) return w.status;
    lock.lock();
  } else {
    leader_active_ = true;
  }
  LeadOneGroup(lock);
  VP_CHECK(w.done, "a leader's own append is in the group it led");
  return w.status;
}

void GroupCommitter::Number(Waiter* w) {
  for (PendingBatch& b : w->batches) {
    b.base = next_[b.partition];
    next_[b.partition] += b.count;
  }
}

void GroupCommitter::LeadOneGroup(std::unique_lock<std::mutex>& lock) {
  group_.swap(queue_);
  lock.unlock();
  Status st = WriteGroup();
  lock.lock();
  Finish(st);
  Waiter* next = next_leader_;
  next_leader_ = nullptr;
  if (next == nullptr) {
    leader_active_ = false;
    closed_cv_.notify_all();
  }
  // From here the next leader owns the leader's state: take the list.
  std::vector<Waiter*> wake;
  wake.swap(to_wake_);
  lock.unlock();
  if (next != nullptr) next->Signal(Waiter::Wake::kLead);
  for (Waiter* w : wake) w->Signal(Waiter::Wake::kDone);
}

void GroupCommitter::Finish(const Status& st) {
  for (int p : touched_) {
    const Partition* part = partitions_[p];
    VP_CHECK(part->EndOffset() <= part->written_end() && part->written_end() <= next_[p],
             "partition offsets out of order: durable <= written <= next");
  }
  // The leader's own waiter is in its group; it needs no wake-up, but
  // waking it is harmless (its wake is never read), so it is not singled out.
  auto complete = [&](Waiter* w, const Status& status) {
    w->status = status;
    w->done = true;
    queued_bytes_ -= w->bytes;
    to_wake_.push_back(w);
  };
  for (Waiter* w : group_) complete(w, st);
  group_.clear();
  if (!poison_.ok()) {
    failed_ = poison_;
    for (Waiter* w : queue_) complete(w, poison_);
    queue_.clear();
    return;
  }
  if (!st.ok()) {
    // The failed group's offsets were not used: hand the queued appends new ones.
    for (size_t p = 0; p < partitions_.size(); ++p) next_[p] = partitions_[p]->written_end();
    for (Waiter* w : queue_) Number(w);
  }
  if (!queue_.empty()) next_leader_ = queue_.front();
}

uint64_t GroupCommitter::GatherGroup() {
  touched_.clear();
  uint64_t records = 0;
  for (Waiter* w : group_) {
    for (const PendingBatch& b : w->batches) {
      std::vector<std::string_view>& parts = write_parts_[b.partition];
      if (std::find(touched_.begin(), touched_.end(), b.partition) == touched_.end()) {
        touched_.push_back(b.partition);
        parts.clear();
        write_bytes_[b.partition] = 0;
        group_max_ts_[b.partition] = INT64_MIN;
      }
      SealBatch(b.data.data(), b.base);
      parts.emplace_back(b.data.data(), b.data.size());
      write_bytes_[b.partition] += b.data.size();
      group_end_[b.partition] = b.base + b.count;
      group_max_ts_[b.partition] = std::max(group_max_ts_[b.partition], b.max_ts);
      records += b.count;
    }
  }
  return records;
}

Status GroupCommitter::WriteTouched() {
  for (int p : touched_) {
    Status st = partitions_[p]->Append(write_parts_[p], write_bytes_[p], group_end_[p],
                                       group_max_ts_[p]);
    if (st.ok()) continue;
    LogMetrics::Inc(st.IsNoSpace() ? metrics_->no_space : metrics_->io_error);
    // All or nothing: cut every file of the group back to its durable size.
    for (int q : touched_) {
      Status cut = partitions_[q]->CutUnsynced();
      if (!cut.ok() && poison_.ok()) {
        poison_ = Status::IOError("cannot cut back a failed write, log stopped until reopened: " +
                                  cut.ToString());
      }
    }
    return st;
  }
  return Status::OK();
}

Status GroupCommitter::WriteGroup() {
  uint64_t records = GatherGroup();
  VP_RETURN_IF_ERROR(WriteTouched());
  Status st = SyncTouched();
  signal_->Notify();
  if (!st.ok()) return st;
  uint64_t bytes = 0;
  for (int p : touched_) bytes += write_bytes_[p];
  LogMetrics::Inc(metrics_->append_records, records);
  LogMetrics::Inc(metrics_->append_bytes, bytes);
  LogMetrics::Inc(metrics_->group_commits);
  LogMetrics::Observe(metrics_->group_bytes, static_cast<double>(bytes));
  return Status::OK();
}

Status GroupCommitter::SyncTouched() {
  std::vector<Status> results(touched_.size());
  sync_workers_.Run(touched_.size(), [&](size_t i) {
    auto t0 = std::chrono::steady_clock::now();
    results[i] = partitions_[touched_[i]]->Sync();
    std::chrono::duration<double> d = std::chrono::steady_clock::now() - t0;
    LogMetrics::Observe(metrics_->fsync_seconds, d.count());
  });
  for (size_t i = 0; i < results.size(); ++i) {
    if (results[i].ok()) continue;
    LogMetrics::Inc(metrics_->io_error);
    Partition* p = partitions_[touched_[i]];
    poison_ =
        Status::IOError("fdatasync of " + p->topic() + "/" + std::to_string(p->id()) + " failed (" +
                        results[i].message() + "); the log takes no appends until it is reopened");
    return poison_;
  }
  return Status::OK();
}

}  // namespace viewpipe
