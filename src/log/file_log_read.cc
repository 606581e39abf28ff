// FileLog, read side: consumers, committed offsets, lags, retention and the
// metrics sampled at render time. (The write side is in file_log.cc.)

#include <algorithm>

#include "log/file_log.h"
#include "log/file_log_consumer.h"

namespace viewpipe {

Result<std::unique_ptr<PartitionReader>> FileLog::NewPartitionReader(std::string_view topic,
                                                                     PartitionId p,
                                                                     Offset from) const {
  const Partition* part = FindPartition(topic, p);
  if (part == nullptr) {
    return Status::NotFound("no partition " + std::string(topic) + "/" + std::to_string(p));
  }
  auto reader = std::make_unique<PartitionReader>(part, part->StartOffset());
  reader->Seek(from);  // clamps to [StartOffset, EndOffset]
  return reader;
}

Result<std::unique_ptr<RecordReader>> FileLog::NewReader(std::string_view topic, PartitionId p,
                                                         Offset from) const {
  auto reader = NewPartitionReader(topic, p, from);
  if (!reader.ok()) return reader.status();
  return std::unique_ptr<RecordReader>(std::move(reader).value());
}

Counter* FileLog::SkippedCounter(const std::string& group, const std::string& topic) const {
  if (options_.metrics == nullptr) return nullptr;
  return options_.metrics->GetCounter(
      "viewpipe_log_retention_skipped_records_total",
      "Records a consumer group never read because retention deleted them first "
      "(should stay 0 in a healthy system).",
      {{"group", group}, {"topic", topic}});
}

Result<std::unique_ptr<Consumer>> FileLog::Subscribe(std::string_view group,
                                                     std::string_view topic) {
  if (!OffsetStore::ValidName(group)) {
    return Status::InvalidArgument("bad consumer group name '" + std::string(group) + "'");
  }
  const Topic* t = FindTopic(topic);
  if (t == nullptr) return Status::NotFound("no topic '" + std::string(topic) + "'");
  auto committed = offsets_->Load(group, topic);
  if (!committed.ok()) return committed.status();
  Counter* skipped = SkippedCounter(std::string(group), t->name);
  std::vector<std::unique_ptr<PartitionReader>> readers;
  for (int p = 0; p < t->count; ++p) {
    const Partition* part = partitions_[t->first + p].get();
    auto it = committed->find(p);
    Offset from = it == committed->end() ? part->StartOffset() : it->second;
    // Past the end only if recovery cut records the group had seen: resume
    // at the end rather than skip whatever gets those offsets next.
    from = std::min(from, part->EndOffset());
    readers.push_back(std::make_unique<PartitionReader>(part, from, skipped));
  }
  return std::unique_ptr<Consumer>(
      new FileLogConsumer(this, std::string(group), t->name, std::move(readers)));
}

Result<std::map<PartitionId, Offset>> FileLog::Committed(std::string_view group,
                                                         std::string_view topic) const {
  if (!OffsetStore::ValidName(group)) return Status::InvalidArgument("bad consumer group name");
  if (FindTopic(topic) == nullptr) return Status::NotFound("no topic '" + std::string(topic) + "'");
  return offsets_->Load(group, topic);
}

Status FileLog::CommitOffsets(const std::string& group, const std::string& topic,
                              const std::map<PartitionId, Offset>& next_offsets) {
  if (options_.read_only) return Status::InvalidArgument("log is open read-only");
  for (const auto& [p, o] : next_offsets) {
    const Partition* part = FindPartition(topic, p);
    if (part == nullptr) {
      return Status::InvalidArgument("no partition " + topic + "/" + std::to_string(p));
    }
    if (o < 0 || o > part->EndOffset()) {
      return Status::InvalidArgument("offset " + std::to_string(o) + " outside [0, end " +
                                     std::to_string(part->EndOffset()) + "] of " + topic + "/" +
                                     std::to_string(p));
    }
  }
  return offsets_->Commit(group, topic, next_offsets);
}

std::vector<GroupLag> FileLog::Lags() const {
  std::vector<GroupLag> out;
  auto list = offsets_->List();
  if (!list.ok()) return out;
  for (const auto& [group, topic] : *list) {
    const Topic* t = FindTopic(topic);
    if (t == nullptr) continue;
    auto committed = offsets_->Load(group, topic);
    if (!committed.ok()) continue;
    for (int p = 0; p < t->count; ++p) {
      const Partition* part = partitions_[t->first + p].get();
      auto it = committed->find(p);
      GroupLag lag{group, topic, p, 0, part->EndOffset()};
      lag.committed = it == committed->end() ? part->StartOffset() : it->second;
      out.push_back(lag);
    }
  }
  return out;
}

Result<int> FileLog::EnforceRetention() {
  if (options_.read_only) return Status::InvalidArgument("log is open read-only");
  int64_t min_ts =
      options_.retention_ms >= 0 ? options_.clock->NowMs() - options_.retention_ms : INT64_MIN;
  int deleted = 0;
  Status first;
  for (auto& p : partitions_) {
    auto n = p->EnforceRetention(min_ts, options_.retention_bytes);
    if (n.ok()) deleted += *n;
    if (!n.ok() && first.ok()) first = n.status();
  }
  if (!first.ok()) return first;
  return deleted;
}

namespace {
using Samples = std::vector<std::pair<Labels, double>>;
}  // namespace

void FileLog::AddSampler(const char* name, const char* help,
                         std::function<Samples(const FileLog&)> sample) {
  auto guard = sampler_guard_;
  options_.metrics->AddSampler(name, help, MetricsRegistry::Type::kGauge, [guard, sample] {
    std::lock_guard<std::mutex> lock(guard->mu);
    return guard->log == nullptr ? Samples{} : sample(*guard->log);
  });
}

void FileLog::RegisterMetrics() {
  if (options_.metrics == nullptr) return;
  sampler_guard_ = std::make_shared<SamplerGuard>();
  sampler_guard_->log = this;
  auto per_partition = [](const FileLog& log, auto value) {
    Samples out;
    for (const auto& p : log.partitions_) {
      out.push_back({{{"topic", p->topic()}, {"partition", std::to_string(p->id())}},
                     static_cast<double>(value(*p))});
    }
    return out;
  };
  AddSampler("viewpipe_log_bytes", "Bytes held by each log partition on disk.",
             [per_partition](const FileLog& log) {
               return per_partition(log, [](const Partition& p) { return p.SizeBytes(); });
             });
  AddSampler("viewpipe_log_end_offset", "One past the last durable offset of each partition.",
             [per_partition](const FileLog& log) {
               return per_partition(log, [](const Partition& p) { return p.EndOffset(); });
             });
}

}  // namespace viewpipe
