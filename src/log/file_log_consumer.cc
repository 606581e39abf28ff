#include "log/file_log_consumer.h"

#include "log/file_log.h"

namespace viewpipe {

FileLogConsumer::FileLogConsumer(FileLog* log, std::string group, std::string topic,
                                 std::vector<std::unique_ptr<PartitionReader>> readers)
    : log_(log),
      group_(std::move(group)),
      topic_(std::move(topic)),
      readers_(std::move(readers)),
      reported_(readers_.size(), false) {}

void FileLogConsumer::ReadRound(size_t max_records) {
  for (size_t k = 0; k < readers_.size() && records_.size() < max_records; ++k) {
    size_t i = (next_reader_ + k) % readers_.size();
    if (reported_[i]) continue;
    auto n = readers_[i]->Read(max_records - records_.size(), &records_);
    if (!n.ok()) {
      reported_[i] = true;
      if (pending_error_.ok()) pending_error_ = n.status();
    }
  }
  next_reader_ = (next_reader_ + 1) % readers_.size();
}

Result<std::vector<ConsumedRecord>> FileLogConsumer::Poll(size_t max_records,
                                                          std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  DurableSignal* signal = log_->durable_signal();
  for (;;) {
    uint64_t version = signal->Version();
    records_.clear();
    ReadRound(max_records);
    // Records first: the error waits for a Poll that has nothing else.
    if (!records_.empty()) return records_;
    if (!pending_error_.ok()) {
      Status st = pending_error_;
      pending_error_ = Status::OK();
      return st;
    }
    if (max_records == 0) return records_;
    if (!signal->WaitForChange(version, deadline)) return records_;
  }
}

Status FileLogConsumer::Commit(const std::map<PartitionId, Offset>& next_offsets) {
  return log_->CommitOffsets(group_, topic_, next_offsets);
}

std::vector<PartitionId> FileLogConsumer::Assignment() const {
  std::vector<PartitionId> out;
  for (const auto& r : readers_) out.push_back(r->partition());
  return out;
}

Status FileLogConsumer::Seek(PartitionId p, Offset offset) {
  if (p < 0 || static_cast<size_t>(p) >= readers_.size()) {
    return Status::InvalidArgument("partition " + std::to_string(p) + " is not assigned");
  }
  if (offset < 0) return Status::InvalidArgument("negative offset");
  readers_[p]->Seek(offset);
  reported_[p] = false;
  return Status::OK();
}

Offset FileLogConsumer::Position(PartitionId p) const {
  if (p < 0 || static_cast<size_t>(p) >= readers_.size()) return -1;
  return readers_[p]->position();
}

}  // namespace viewpipe
