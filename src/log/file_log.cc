#include "log/file_log.h"

#include <algorithm>

#include "log/file_log_consumer.h"
#include "log/record_batch.h"

namespace viewpipe {
namespace {

// Per-thread buffers of Append, reused so the hot path does not allocate.
struct AppendScratch {
  std::vector<std::string> batches;  // per partition: room, batch after batch (BeginInPlace)
  std::vector<BatchBuilder> builders;
  std::vector<int> slot;  // partition -> index in pending, or -1
  std::vector<int> record_partition;
  std::vector<PendingBatch> pending;
  std::vector<Offset> next;

  void Reset(size_t partitions, size_t records) {
    if (slot.size() != partitions) {
      batches.assign(partitions, std::string());
      builders.assign(partitions, BatchBuilder());
      slot.assign(partitions, -1);
    }
    for (const PendingBatch& b : pending) {
      slot[b.partition] = -1;
      // Do not keep a freak-sized batch buffer for the life of the thread.
      if (batches[b.partition].capacity() > (8u << 20)) std::string().swap(batches[b.partition]);
    }
    pending.clear();
    record_partition.resize(records);
  }
};

AppendScratch& Scratch() {
  thread_local AppendScratch scratch;
  return scratch;
}

bool ValidTopicName(std::string_view name) {
  return OffsetStore::ValidName(name) && name != "groups" && name != "LOCK" &&
         name.find(".tmp") == std::string_view::npos;
}

}  // namespace

std::map<std::string, int> DefaultTopics() {
  std::map<std::string, int> topics;
  for (const auto& [name, count] : kDefaultTopicPartitions) topics.emplace(name, count);
  return topics;
}

FileLog::FileLog(const FileLogOptions& options)
    : options_(options), metrics_(LogMetrics::Create(options.metrics)) {}

FileLog::~FileLog() {
  if (sampler_guard_) {
    std::lock_guard<std::mutex> lock(sampler_guard_->mu);
    sampler_guard_->log = nullptr;
  }
  committer_.reset();  // waits for a running group commit
}

Result<std::unique_ptr<FileLog>> FileLog::Open(const FileLogOptions& options,
                                               RecoveryReport* report) {
  if (options.dir.empty() || options.env == nullptr || options.clock == nullptr) {
    return Status::InvalidArgument("FileLogOptions needs dir, env and clock");
  }
  if (options.segment_bytes < 4096 || options.segment_bytes > (1ull << 30) ||
      options.index_interval_bytes == 0 || options.max_pending_bytes == 0 ||
      options.max_pending_bytes > (1ull << 30) || options.sync_threads < 0) {
    return Status::InvalidArgument(
        "FileLogOptions: segment_bytes must be in [4 KiB, 1 GiB], "
        "max_pending_bytes in (0, 1 GiB], index interval > 0");
  }
  std::unique_ptr<FileLog> log(new FileLog(options));
  Env* env = options.env;
  if (options.read_only) {
    if (!env->FileExists(options.dir)) return Status::NotFound("no log at " + options.dir);
  } else {
    VP_RETURN_IF_ERROR(env->CreateDirs(options.dir));
    auto lock = env->LockFile(JoinPath(options.dir, "LOCK"));
    if (!lock.ok()) {
      return Status::IOError(
          "cannot open log " + options.dir +
          " for writing (is another writer running?): " + lock.status().message());
    }
    log->lock_ = std::move(lock).value();
  }
  RecoveryReport local;
  VP_RETURN_IF_ERROR(log->OpenTopics(report != nullptr ? report : &local));
  log->offsets_ = std::make_unique<OffsetStore>(env, JoinPath(options.dir, "groups"));
  if (!options.read_only) log->StartCommitter();
  log->RegisterMetrics();
  return log;
}

void FileLog::StartCommitter() {
  std::vector<Partition*> parts;
  for (auto& p : partitions_) parts.push_back(p.get());
  GroupCommitter::Options copts;
  copts.env = options_.env;
  copts.dir = options_.dir;
  copts.max_pending_bytes = options_.max_pending_bytes;
  copts.min_free_bytes = options_.min_free_bytes;
  copts.sync_threads = options_.sync_threads;
  committer_ = std::make_unique<GroupCommitter>(parts, copts, &signal_, &metrics_);
}

Status FileLog::OpenTopics(RecoveryReport* report) {
  Env* env = options_.env;
  if (options_.read_only) {
    VP_RETURN_IF_ERROR(DiscoverTopics());
  } else {
    for (const auto& [name, count] : options_.topics) {
      if (!ValidTopicName(name) || count < 1 || count > 4096) {
        return Status::InvalidArgument("bad topic '" + name + "' or partition count " +
                                       std::to_string(count));
      }
      int on_disk = PartitionsOnDisk(JoinPath(options_.dir, name));
      if (on_disk > 0 && on_disk != count) {
        return Status::InvalidArgument("topic " + name + " has " + std::to_string(on_disk) +
                                       " partitions on disk, options say " + std::to_string(count));
      }
      topics_.push_back({name, static_cast<int>(partitions_.size()), count});
      for (int p = 0; p < count; ++p) partitions_.push_back(nullptr);
    }
  }
  PartitionOptions popts{options_.segment_bytes, options_.index_interval_bytes, options_.read_only,
                         options_.page_cache_bytes};
  for (const Topic& t : topics_) {
    std::string topic_dir = JoinPath(options_.dir, t.name);
    for (int p = 0; p < t.count; ++p) {
      auto part = std::make_unique<Partition>(env, t.name, p,
                                              JoinPath(topic_dir, std::to_string(p)), popts);
      report->partitions.emplace_back();
      VP_RETURN_IF_ERROR(part->Open(&report->partitions.back()));
      partitions_[t.first + p] = std::move(part);
    }
    if (!options_.read_only) VP_RETURN_IF_ERROR(env->SyncDir(topic_dir));
  }
  if (!options_.read_only) VP_RETURN_IF_ERROR(env->SyncDir(options_.dir));
  return Status::OK();
}

Status FileLog::DiscoverTopics() {
  auto names = options_.env->GetChildren(options_.dir);
  if (!names.ok()) return names.status();
  std::sort(names->begin(), names->end());
  for (const std::string& name : *names) {
    if (!ValidTopicName(name)) continue;
    int count = PartitionsOnDisk(JoinPath(options_.dir, name));
    if (count < 0) return Status::Corruption("topic " + name + " has a gap in its partitions");
    if (count == 0) continue;  // a file, or no partitions
    topics_.push_back({name, static_cast<int>(partitions_.size()), count});
    for (int p = 0; p < count; ++p) partitions_.push_back(nullptr);
  }
  return Status::OK();
}

int FileLog::PartitionsOnDisk(const std::string& topic_dir) const {
  auto names = options_.env->GetChildren(topic_dir);
  if (!names.ok()) return 0;
  std::vector<int> ids;
  for (const std::string& n : *names) {
    if (!n.empty() && n.size() < 6 && n.find_first_not_of("0123456789") == std::string::npos) {
      ids.push_back(std::stoi(n));
    }
  }
  std::sort(ids.begin(), ids.end());
  for (size_t i = 0; i < ids.size(); ++i) {
    if (ids[i] != static_cast<int>(i)) return -1;
  }
  return static_cast<int>(ids.size());
}

const FileLog::Topic* FileLog::FindTopic(std::string_view name) const {
  for (const Topic& t : topics_) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

const Partition* FileLog::FindPartition(std::string_view topic, PartitionId p) const {
  const Topic* t = FindTopic(topic);
  if (t == nullptr || p < 0 || p >= t->count) return nullptr;
  return partitions_[t->first + p].get();
}

int FileLog::Partitions(std::string_view topic) const {
  const Topic* t = FindTopic(topic);
  return t == nullptr ? 0 : t->count;
}

std::map<std::string, int> FileLog::Topics() const {
  std::map<std::string, int> out;
  for (const Topic& t : topics_) out[t.name] = t.count;
  return out;
}

// Sorts the records into one batch per partition, in the thread's scratch.
Status FileLog::Route(std::span<const ProduceRecord> records) {
  AppendScratch& s = Scratch();
  s.Reset(partitions_.size(), records.size());
  const Topic* t = nullptr;
  // The collector appends a QoE event to two topics under one key: hash it once.
  std::string_view hashed_key;
  uint32_t hash = KeyHash({});
  for (size_t i = 0; i < records.size(); ++i) {
    const ProduceRecord& r = records[i];
    if (t == nullptr || t->name != r.topic) t = FindTopic(r.topic);
    if (t == nullptr)
      return Status::InvalidArgument("unknown topic '" + std::string(r.topic) + "'");
    if (r.key.data() != hashed_key.data() || r.key.size() != hashed_key.size()) {
      hashed_key = r.key;
      hash = KeyHash(r.key);
    }
    PartitionId p = r.partition >= 0 ? r.partition : PartitionOfHash(hash, t->count);
    if (p >= t->count) {
      return Status::InvalidArgument("topic " + t->name + " has no partition " + std::to_string(p));
    }
    int gp = t->first + p;
    s.record_partition[i] = gp;
    if (s.slot[gp] < 0) {
      s.slot[gp] = static_cast<int>(s.pending.size());
      s.pending.push_back(PendingBatch{.partition = gp});
      s.builders[gp].BeginInPlace(&s.batches[gp], r.timestamp_ms);
    }
    s.builders[gp].Add(r.timestamp_ms, r.key, r.value);
  }
  for (PendingBatch& b : s.pending) {
    b.count = s.builders[b.partition].count();
    b.max_ts = s.builders[b.partition].max_ts();
    const size_t size = s.builders[b.partition].Finish();
    if (size > kMaxBatchBytes) {
      return Status::InvalidArgument("append puts more than 64 MiB into one partition");
    }
    b.data = std::span<char>(s.batches[b.partition].data(), size);
  }
  return Status::OK();
}

Status FileLog::Append(std::span<const ProduceRecord> records, std::vector<Offset>* offsets) {
  if (options_.read_only) return Status::InvalidArgument("log is open read-only");
  if (offsets != nullptr) offsets->clear();
  if (records.empty()) return Status::OK();
  VP_RETURN_IF_ERROR(Route(records));
  AppendScratch& s = Scratch();
  uint64_t bytes = 0;
  for (const PendingBatch& b : s.pending) bytes += b.data.size();
  if (bytes > options_.max_pending_bytes) {
    return Status::InvalidArgument("append of " + std::to_string(bytes) +
                                   " bytes is larger than max_pending_bytes");
  }
  VP_RETURN_IF_ERROR(committer_->Commit(s.pending, bytes));
  if (offsets != nullptr) {
    s.next.resize(s.pending.size());
    for (size_t i = 0; i < s.pending.size(); ++i) s.next[i] = s.pending[i].base;
    offsets->resize(records.size());
    for (size_t i = 0; i < records.size(); ++i) {
      (*offsets)[i] = s.next[s.slot[s.record_partition[i]]]++;
    }
  }
  return Status::OK();
}

Offset FileLog::StartOffset(std::string_view topic, PartitionId p) const {
  const Partition* part = FindPartition(topic, p);
  return part == nullptr ? 0 : part->StartOffset();
}

Offset FileLog::EndOffset(std::string_view topic, PartitionId p) const {
  const Partition* part = FindPartition(topic, p);
  return part == nullptr ? 0 : part->EndOffset();
}

uint64_t FileLog::SizeBytes() const {
  uint64_t total = 0;
  for (const auto& p : partitions_) total += p->SizeBytes();
  return total;
}

Status FileLog::Health() const { return committer_ ? committer_->health() : Status::OK(); }

}  // namespace viewpipe
