#include "log/partition.h"

#include <algorithm>

#include "log/record_batch.h"

namespace viewpipe {
namespace {

void AddProblem(PartitionRecovery* report, const std::string& problem) {
  if (!report->problem.empty()) report->problem += "; ";
  report->problem += problem;
}

}  // namespace

Partition::Partition(Env* env, std::string topic, PartitionId id, std::string dir,
                     const PartitionOptions& options)
    : env_(env), topic_(std::move(topic)), id_(id), dir_(std::move(dir)), options_(options) {}

Status Partition::Open(PartitionRecovery* report) {
  report->topic = topic_;
  report->partition = id_;
  if (!options_.read_only) VP_RETURN_IF_ERROR(env_->CreateDirs(dir_));
  auto names = env_->GetChildren(dir_);
  if (!names.ok() && !(options_.read_only && names.status().IsNotFound())) return names.status();
  std::vector<Offset> bases;
  for (const std::string& name : names.ok() ? *names : std::vector<std::string>{}) {
    Offset base;
    if (Segment::ParseLogFileName(name, &base)) bases.push_back(base);
  }
  std::sort(bases.begin(), bases.end());
  for (Offset base : bases) segments_.push_back(std::make_shared<Segment>(dir_, base));
  if (segments_.empty()) {
    if (!options_.read_only) VP_RETURN_IF_ERROR(CreateFirstSegment());
    report->segments = static_cast<int>(segments_.size());
    return Status::OK();
  }
  uint64_t bytes = 0;
  for (size_t i = 0; i + 1 < segments_.size(); ++i) {
    VP_RETURN_IF_ERROR(LoadClosed(segments_[i].get(), segments_[i + 1]->base(), report));
    bytes += segments_[i]->durable_size();
  }
  VP_RETURN_IF_ERROR(RecoverLast(segments_.back(), report));
  bytes += segments_.back()->durable_size();
  size_bytes_.store(bytes);
  start_.store(segments_.front()->base());
  report->segments = static_cast<int>(segments_.size());
  report->start_offset = StartOffset();
  report->end_offset = EndOffset();
  return Status::OK();
}

Status Partition::LoadClosed(Segment* s, Offset next_base, PartitionRecovery* report) {
  auto size = env_->FileSize(s->log_path());
  if (!size.ok()) return size.status();
  std::string data;
  SegmentIndex index;
  SegmentIndex::Trailer t;
  Status st = env_->ReadFileToString(s->index_path(), &data);
  if (st.ok()) st = SegmentIndex::Decode(data, &index, &t);
  if (st.ok() && (t.log_size != *size || s->base() + t.end_relative_offset != next_base)) {
    st = Status::Corruption("index does not match its log");
  }
  s->closed = true;
  if (st.ok()) {
    s->index = std::move(index);
    s->end_offset = s->base() + t.end_relative_offset;
    s->max_ts = t.max_timestamp;
    s->set_durable_size(*size);
    return Status::OK();
  }
  report->index_rebuilt = true;
  auto scan = Segment::Scan(env_, s->log_path(), s->base(), options_.index_interval_bytes);
  if (!scan.ok()) return scan.status();
  s->index = std::move(scan->index);
  s->end_offset = scan->end_offset;
  s->max_ts = scan->max_ts;
  s->set_durable_size(scan->valid_size);
  if (!scan->problem.empty()) {
    s->problem = "closed segment " + s->log_path() + ": " + scan->problem;
  } else if (scan->end_offset != next_base) {
    s->problem = "closed segment " + s->log_path() + " ends at offset " +
                 std::to_string(scan->end_offset) + " but the next one starts at " +
                 std::to_string(next_base);
  }
  if (!s->problem.empty()) {
    AddProblem(report, s->problem);
  } else if (!options_.read_only) {
    WriteIndexFile(*s);
  }
  return Status::OK();
}

Status Partition::RecoverLast(const std::shared_ptr<Segment>& s, PartitionRecovery* report) {
  auto scan = Segment::Scan(env_, s->log_path(), s->base(), options_.index_interval_bytes);
  if (!scan.ok()) return scan.status();
  report->records_scanned = scan->records;
  s->index = std::move(scan->index);
  s->end_offset = scan->end_offset;
  s->max_ts = scan->max_ts;
  s->set_durable_size(scan->valid_size);
  uint64_t cut = scan->file_size - scan->valid_size;
  if (options_.read_only) {
    if (cut > 0) AddProblem(report, scan->problem + " (read-only: left in place)");
  } else {
    if (cut > 0) {
      VP_RETURN_IF_ERROR(env_->TruncateFile(s->log_path(), scan->valid_size));
      report->bytes_truncated = cut;
      AddProblem(report, scan->problem + "; cut " + std::to_string(cut) + " bytes" +
                             (scan->valid_after_problem
                                  ? " including valid batches after the damage: corruption "
                                    "in the middle of the segment, acknowledged records lost"
                                  : ""));
    }
    auto file = env_->NewAppendableFile(s->log_path());
    if (!file.ok()) return file.status();
    active_file_ = std::move(file).value();
    VP_CHECK(active_file_->Size() == scan->valid_size, "active segment size after recovery");
    if (cut > 0) VP_RETURN_IF_ERROR(active_file_->Sync());  // make the cut durable
    active_ = s;
    active_size_ = scan->valid_size;
    written_end_ = scan->end_offset;
    written_max_ts_ = scan->max_ts;
    next_index_pos_ = s->index.size() > 0 ? s->index.last_position() + options_.index_interval_bytes
                                          : options_.index_interval_bytes;
  }
  durable_end_.store(scan->end_offset, std::memory_order_release);
  return Status::OK();
}

Status Partition::CreateFirstSegment() {
  auto s = std::make_shared<Segment>(dir_, 0);
  auto file = env_->NewAppendableFile(s->log_path());
  if (!file.ok()) return file.status();
  VP_RETURN_IF_ERROR(env_->SyncDir(dir_));
  active_file_ = std::move(file).value();
  active_ = s;
  next_index_pos_ = options_.index_interval_bytes;
  segments_.push_back(std::move(s));
  return Status::OK();
}

Status Partition::Append(std::span<const std::string_view> batches, uint64_t bytes,
                         Offset next_end, int64_t max_ts) {
  VP_CHECK(active_file_ != nullptr, "Append on a partition without writer");
  if (active_size_ > 0 && active_size_ + bytes > options_.segment_bytes) {
    VP_RETURN_IF_ERROR(Roll());
  }
  uint64_t pos = active_size_;
  Status st = active_file_->AppendV(batches);
  active_size_ = active_file_->Size();
  size_bytes_.fetch_add(active_size_ - pos, std::memory_order_relaxed);
  if (!st.ok()) return st;
  VP_CHECK(active_size_ - pos == bytes, "partition append wrote a different size");
  for (std::string_view piece : batches) {
    IndexBatches(piece, pos);
    pos += piece.size();
  }
  written_end_ = next_end;
  written_max_ts_ = std::max(written_max_ts_, max_ts);
  VP_CHECK(EndOffset() <= written_end_, "durable end passed written end");
  return Status::OK();
}

void Partition::IndexBatches(std::string_view batches, uint64_t file_pos) {
  std::lock_guard<std::mutex> lock(mu_);
  size_t at = 0;
  while (at < batches.size()) {
    BatchHeader h;
    std::string why;
    VP_CHECK(ParseBatchHeader(batches.substr(at), &h, &why) == BatchCheck::kOk,
             "leader wrote a malformed batch");
    if (file_pos + at >= next_index_pos_) {
      active_->index.Add(static_cast<uint32_t>(h.base_offset - active_->base()),
                         static_cast<uint32_t>(file_pos + at));
      next_index_pos_ = file_pos + at + options_.index_interval_bytes;
    }
    at += h.TotalSize();
  }
}

Status Partition::Sync() {
  Offset durable = EndOffset();
  VP_CHECK(durable <= written_end_, "durable end passed written end");
  if (durable == written_end_ && active_->durable_size() == active_size_) return Status::OK();
  VP_RETURN_IF_ERROR(active_file_->Sync());
  {
    std::lock_guard<std::mutex> lock(mu_);
    active_->end_offset = written_end_;
    active_->max_ts = written_max_ts_;
  }
  active_->set_durable_size(active_size_);  // before durable_end: see header
  durable_end_.store(written_end_, std::memory_order_release);
  const uint64_t keep = options_.page_cache_bytes;
  if (keep > 0 && active_size_ >= cache_dropped_to_ + keep + kCacheDropStep) {
    const uint64_t to = active_size_ - keep;
    active_file_->DropCache(cache_dropped_to_, to - cache_dropped_to_);
    cache_dropped_to_ = to;
  }
  if (previous_file_ != nullptr && active_size_ >= keep) DropPreviousSegmentCache();
  return Status::OK();
}

void Partition::DropPreviousSegmentCache() {
  previous_file_->DropCache(previous_dropped_to_, previous_size_ - previous_dropped_to_);
  previous_file_->Close();
  previous_file_.reset();
}

Status Partition::CutUnsynced() {
  uint64_t keep = active_->durable_size();
  if (active_file_ != nullptr) active_file_->Close();  // the cut below matters, not this
  active_file_.reset();
  VP_RETURN_IF_ERROR(env_->TruncateFile(active_->log_path(), keep));
  auto file = env_->NewAppendableFile(active_->log_path());
  if (!file.ok()) return file.status();
  active_file_ = std::move(file).value();
  VP_CHECK(active_file_->Size() == keep, "active segment size after cut");
  size_bytes_.fetch_sub(active_size_ - keep, std::memory_order_relaxed);
  active_size_ = keep;
  std::lock_guard<std::mutex> lock(mu_);
  active_->index.TruncateAt(keep);
  next_index_pos_ = active_->index.size() > 0
                        ? active_->index.last_position() + options_.index_interval_bytes
                        : options_.index_interval_bytes;
  written_end_ = EndOffset();
  written_max_ts_ = active_->max_ts;
  return Status::OK();
}

Status Partition::Roll() {
  VP_CHECK(active_->durable_size() == active_size_ && EndOffset() == written_end_,
           "roll with unsynced data");
  auto next = std::make_shared<Segment>(dir_, written_end_);
  auto file = env_->NewAppendableFile(next->log_path());
  if (!file.ok()) return file.status();
  // The new file's name must be durable before any data in it counts as such.
  VP_RETURN_IF_ERROR(env_->SyncDir(dir_));
  WriteIndexFile(*active_);
  if (options_.page_cache_bytes > 0) {
    // Its cached tail goes once the new segment holds page_cache_bytes (Sync).
    if (previous_file_ != nullptr) DropPreviousSegmentCache();
    previous_file_ = std::move(active_file_);
    previous_size_ = active_size_;
    previous_dropped_to_ = cache_dropped_to_;
  } else {
    active_file_->Close();
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    active_->closed = true;
    segments_.push_back(next);
  }
  active_ = std::move(next);
  active_file_ = std::move(file).value();
  active_size_ = 0;
  cache_dropped_to_ = 0;
  written_max_ts_ = INT64_MIN;
  next_index_pos_ = options_.index_interval_bytes;
  return Status::OK();
}

void Partition::WriteIndexFile(const Segment& s) {
  std::string data;
  {
    std::lock_guard<std::mutex> lock(mu_);
    SegmentIndex::Trailer t;
    t.end_relative_offset = static_cast<uint32_t>(s.end_offset - s.base());
    t.log_size = static_cast<uint32_t>(s.durable_size());
    t.max_timestamp = s.max_ts;
    data = s.index.Encode(t);
  }
  // Not synced: an index lost in a crash fails its crc and is rebuilt.
  auto file = env_->NewWritableFile(s.index_path());
  if (!file.ok()) return;
  if (!(*file)->Append(data).ok()) {
    (*file)->Close();
    env_->RemoveFile(s.index_path());
    return;
  }
  (*file)->Close();
}

Partition::Location Partition::Locate(Offset offset) const {
  std::lock_guard<std::mutex> lock(mu_);
  if (segments_.empty()) return {};
  auto it = std::upper_bound(segments_.begin(), segments_.end(), offset,
                             [](Offset o, const auto& s) { return o < s->base(); });
  if (it == segments_.begin()) return {segments_.front(), 0};
  const auto& s = *(it - 1);
  Offset rel = std::min<Offset>(offset - s->base(), UINT32_MAX);
  return {s, s->index.Floor(static_cast<uint32_t>(rel)).position};
}

std::shared_ptr<Segment> Partition::SegmentAfter(const Segment& s) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = std::upper_bound(segments_.begin(), segments_.end(), s.base(),
                             [](Offset o, const auto& seg) { return o < seg->base(); });
  return it == segments_.end() ? nullptr : *it;
}

std::string Partition::SegmentProblem(const Segment& s) const {
  std::lock_guard<std::mutex> lock(mu_);
  return s.problem;
}

Result<int> Partition::EnforceRetention(int64_t min_timestamp, int64_t max_bytes) {
  std::vector<std::shared_ptr<Segment>> doomed;
  {
    std::lock_guard<std::mutex> lock(mu_);
    while (segments_.size() > 1) {
      const auto& s = segments_.front();
      bool old = s->max_ts < min_timestamp;
      bool big = max_bytes >= 0 && SizeBytes() > static_cast<uint64_t>(max_bytes);
      if (!old && !big) break;
      size_bytes_.fetch_sub(std::min(SizeBytes(), s->durable_size()));
      doomed.push_back(s);
      segments_.erase(segments_.begin());
    }
    start_.store(segments_.front()->base(), std::memory_order_release);
  }
  Status first;
  for (const auto& s : doomed) {
    // Readers still holding s keep reading their open file.
    Status st = env_->RemoveFile(s->log_path());
    if (st.ok() || st.IsNotFound()) st = env_->RemoveFile(s->index_path());
    if (!st.ok() && !st.IsNotFound() && first.ok()) first = st;
  }
  if (!first.ok()) return first;
  return static_cast<int>(doomed.size());
}

}  // namespace viewpipe
