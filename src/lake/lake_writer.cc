#include "lake/lake_writer.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "lake/commit_merge.h"

namespace viewpipe {

LakeWriter::LakeWriter(const LakeWriterOptions& options)
    : options_(options),
      committer_(options.store, options.clock, options.tombstone_grace_ms, options.probe) {
  if (MetricsRegistry* m = options.metrics) {
    m_added_ = m->GetCounter("viewpipe_lake_events_total", "Events written to the lake");
    m_duplicates_ = m->GetCounter("viewpipe_lake_duplicates_total",
                                  "Events dropped: event_id already in its day partition");
    m_late_ = m->GetCounter("viewpipe_lake_late_events_total",
                            "Events that reached a day after it was sealed");
    m_bytes_ = m->GetCounter("viewpipe_lake_bytes_written_total", "Parquet bytes committed");
    m_commits_ = m->GetCounter("viewpipe_lake_commits_total", "Lake commits");
  }
}

LakeWriter::~LakeWriter() = default;

Result<std::unique_ptr<LakeWriter>> LakeWriter::Open(const LakeWriterOptions& options) {
  std::unique_ptr<LakeWriter> w(new LakeWriter(options));
  w->committer_.set_staging_grace(options.staging_grace_ms);
  if (!options.shared && !options.lock_path.empty()) {
    auto lock = options.env->LockFile(options.lock_path);
    if (!lock.ok()) {
      return Status::Unavailable("lake is in use by another writer (" + options.lock_path +
                                 "): " + lock.status().ToString());
    }
    w->lock_ = std::move(lock).value();
  }
  VP_RETURN_IF_ERROR(w->committer_.Recover());
  auto parquet = ParquetWriter::Open(options.parquet);
  if (!parquet.ok()) return parquet.status();
  w->parquet_ = std::move(parquet).value();
  w->watermark_ms_ = w->committer_.root().watermark_ms;
  return w;
}

Result<EventIdSet*> LakeWriter::IdsOf(EventDate date) {
  auto it = ids_.find(date);
  if (it != ids_.end()) {
    ids_lru_.remove(date);
    ids_lru_.push_front(date);
    return &it->second;
  }
  // Evict the least recently used sets of days with nothing buffered.
  for (auto lru = ids_lru_.rbegin(); ids_.size() >= options_.max_id_days && lru != ids_lru_.rend();) {
    EventDate d = *lru;
    ++lru;
    if (buffered_days_.count(d)) continue;
    ids_.erase(d);
    ids_lru_.remove(d);
    lru = ids_lru_.rbegin();
  }
  EventIdSet& set = ids_[date];
  ids_lru_.push_front(date);
  auto day = committer_.Day(date);
  if (!day.ok()) return day.status();
  std::vector<std::string> uris;
  for (const LakeFile& f : day->files) uris.push_back(options_.store->ReadUri(f.key));
  Status st = parquet_->ReadEventIds(uris, [&](std::string_view id) { set.Insert(EventIdHash(id)); });
  if (!st.ok()) {
    ids_.erase(date);
    ids_lru_.remove(date);
    return st;
  }
  return &set;
}

Result<bool> LakeWriter::Add(const EventView& e) {
  EventDate date = EventDate::OfMs(e.ts_ms);
  auto ids = IdsOf(date);
  if (!ids.ok()) return ids.status();
  if (!(*ids)->Insert(EventIdHash(e.event_id))) {
    ++stats_.duplicates;
    if (m_duplicates_) m_duplicates_->Inc();
    return false;
  }
  VP_RETURN_IF_ERROR(parquet_->Append(e, date, HourOfMs(e.ts_ms)));
  ++buffered_days_[date];
  ++stats_.added;
  if (m_added_) m_added_->Inc();
  auto ref = root().days.find(date);
  if (ref != root().days.end() && ref->second.sealed) {
    LateReport& late = late_[date];
    ++late.events;
    late.max_lateness_ms = std::max(late.max_lateness_ms, e.received_at_ms - date.EndMs());
    ++stats_.late_after_seal;
    if (m_late_) m_late_->Inc();
  }
  return true;
}

Status LakeWriter::Upload(const std::vector<WrittenFile>& files, const std::string& name,
                          std::vector<StagedFile>* staged) {
  for (const WrittenFile& w : files) {
    std::string base = w.local_path.substr(w.local_path.rfind('/') + 1);
    StagedFile s;
    s.date = w.date;
    s.file.key = DataFileKey(w.date, w.hour, base);
    // The Hive layout under the commit's staging directory, so a reader can
    // read a staged file like a published one.
    s.staged_key = committer_.StagingKey(name, s.file.key);
    s.file.hour = w.hour;
    s.file.rows = w.rows;
    s.file.bytes = w.bytes;
    s.file.min_ts = w.min_ts;
    s.file.max_ts = w.max_ts;
    VP_RETURN_IF_ERROR(options_.store->PutFile(s.staged_key, w.local_path, &s.file.crc32c));
    VP_RETURN_IF_ERROR(Probe("staged"));
    staged->push_back(std::move(s));
  }
  return Status::OK();
}

Status LakeWriter::Flush(const std::map<PartitionId, Offset>* offsets) {
  LakeCommit c;
  if (offsets != nullptr) c.offsets = *offsets;
  if (parquet_->rows() == 0 && (offsets == nullptr || *offsets == root().offsets)) {
    return Status::OK();  // nothing new to record
  }
  return FlushWith(std::move(c));
}

Status LakeWriter::FlushShared(const SourcePosition& pos) {
  bool changed = parquet_->rows() > 0;
  for (const auto& [p, o] : pos.offsets) {
    auto it = root().offsets.find(p);
    changed = changed || it == root().offsets.end() || it->second != o;
  }
  for (const auto& [p, wm] : pos.watermarks) {
    auto it = root().watermarks.find(p);
    changed = changed || it == root().watermarks.end() || it->second != wm;
  }
  if (!changed) return Status::OK();
  LakeCommit c;
  c.offsets = pos.offsets;
  c.offsets_from = pos.from;
  c.watermarks = pos.watermarks;
  return FlushWith(std::move(c));
}

Status LakeWriter::Refresh() {
  VP_RETURN_IF_ERROR(committer_.Refresh());
  last_refresh_ms_ = options_.clock->NowMs();
  for (auto it = ids_.begin(); it != ids_.end();) {
    if (buffered_days_.count(it->first)) {
      ++it;
      continue;
    }
    ids_lru_.remove(it->first);
    it = ids_.erase(it);
  }
  return Status::OK();
}

int64_t LakeWriter::CloseWatermark() const {
  if (!options_.shared) return watermark_ms_;
  return MinPartitionWatermark(root(), options_.source_partitions);
}

Status LakeWriter::FlushAndSeal(EventDate date, uint64_t seed) {
  LakeCommit c;
  c.seal.insert(date);
  c.backfill_seed[date] = seed;
  VP_RETURN_IF_ERROR(FlushWith(std::move(c)));
  ++stats_.seals;
  return Status::OK();
}

Status LakeWriter::FlushWith(LakeCommit c) {
  c.watermark_ms = watermark_ms_;
  std::string name = committer_.NewFileName();
  if (parquet_->rows() > 0) {
    auto files = parquet_->Flush(name);
    if (!files.ok()) return files.status();
    VP_RETURN_IF_ERROR(Upload(*files, name, &c.add));
  }
  c.late = std::move(late_);
  late_.clear();
  buffered_days_.clear();
  Status st = committer_.Commit(c);
  parquet_->RemoveScratch(name);
  VP_RETURN_IF_ERROR(st);
  ++stats_.commits;
  stats_.files_written += c.add.size();
  for (const StagedFile& s : c.add) stats_.bytes_written += s.file.bytes;
  if (m_commits_) m_commits_->Inc();
  if (m_bytes_) {
    for (const StagedFile& s : c.add) m_bytes_->Inc(s.file.bytes);
  }
  for (const auto& [d, late] : c.late) {
    spdlog::warn("lake: {} late events reached sealed day {} (up to {} s after its end)",
                 late.events, d.ToString(), late.max_lateness_ms / 1000);
  }
  return Status::OK();
}

Status LakeWriter::CompactDay(EventDate date) {
  auto day = committer_.Day(date);
  if (!day.ok()) return day.status();
  auto ref = root().days.find(date);
  const bool sealed = ref != root().days.end() && ref->second.sealed;
  std::map<int, std::vector<const LakeFile*>> hours;
  for (const LakeFile& f : day->files) hours[f.hour].push_back(&f);
  LakeCommit c;
  std::string name = committer_.NewFileName();
  for (const auto& [hour, files] : hours) {
    if (static_cast<int>(files.size()) < options_.min_files_to_compact) continue;
    // Only what is committed (and closed) goes in; late rows of this hour
    // still buffered land in a new file later.
    if (date.StartMs() + (hour + 1) * kMsPerHour + options_.hour_close_ms > CloseWatermark() &&
        !sealed) {
      continue;
    }
    std::vector<std::string> uris;
    for (const LakeFile* f : files) {
      uris.push_back(options_.store->ReadUri(f->key));
      c.remove[date].push_back(f->key);
    }
    std::string hour_name = name + "-h" + std::to_string(hour);
    auto out = parquet_->Rewrite(uris, date, hour, hour_name, options_.compact_row_group_rows,
                                 options_.target_file_bytes);
    if (!out.ok()) return out.status();
    Status st = Upload(*out, hour_name, &c.add);
    parquet_->RemoveScratch(hour_name);
    VP_RETURN_IF_ERROR(st);
  }
  if (c.add.empty()) return Status::OK();
  c.watermark_ms = watermark_ms_;
  Status st = committer_.Commit(c);
  if (IsCommitConflict(st)) {
    // Another writer compacted these files first: drop this compaction.
    spdlog::info("lake: compaction of {} dropped: {}", date.ToString(), st.ToString());
    for (const StagedFile& s : c.add) options_.store->Delete(s.staged_key).ok();
    return Status::OK();
  }
  VP_RETURN_IF_ERROR(st);
  ++stats_.compactions;
  return Status::OK();
}

Status LakeWriter::SealDay(EventDate date, uint64_t backfill_seed) {
  LakeCommit c;
  c.seal.insert(date);
  if (backfill_seed != 0) c.backfill_seed[date] = backfill_seed;
  c.watermark_ms = watermark_ms_;
  VP_RETURN_IF_ERROR(committer_.Commit(c));
  ++stats_.seals;
  spdlog::info("lake: sealed {} ({} rows)", date.ToString(), root().days.at(date).rows);
  return Status::OK();
}

Status LakeWriter::Maintain(int64_t watermark_ms) {
  watermark_ms_ = std::max(watermark_ms_, watermark_ms);
  VP_RETURN_IF_ERROR(committer_.CollectGarbage());
  if (options_.shared) {
    if (!maintainer_) return Status::OK();
    // Other writers' commits decide which hours have files and which days
    // are due: look at the newest root every 10 s.
    if (options_.clock->NowMs() - last_refresh_ms_ >= 10000) VP_RETURN_IF_ERROR(Refresh());
  }
  std::vector<EventDate> open_days;
  for (const auto& [d, ref] : root().days) {
    if (!ref.sealed) open_days.push_back(d);
  }
  for (EventDate d : open_days) {
    VP_RETURN_IF_ERROR(CompactDay(d));
    bool due = d.EndMs() + options_.seal_grace_ms <= CloseWatermark();
    if (due && !buffered_days_.count(d) && !committer_.HasTombstones(DayPrefix(d))) {
      VP_RETURN_IF_ERROR(SealDay(d));
    }
  }
  return Status::OK();
}

}  // namespace viewpipe
