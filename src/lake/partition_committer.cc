#include "lake/partition_committer.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <random>

#include "lake/lake_schema.h"

namespace viewpipe {

PartitionCommitter::PartitionCommitter(ObjectStore* store, Clock* clock,
                                       int64_t tombstone_grace_ms, CommitProbe probe)
    : store_(store), clock_(clock), tombstone_grace_ms_(tombstone_grace_ms),
      probe_(std::move(probe)) {
  std::random_device rd;
  nonce_ = (static_cast<uint64_t>(rd()) << 32) ^ rd() ^
           static_cast<uint64_t>(clock_->MonotonicMicros());
}

std::string PartitionCommitter::NewFileName() {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "part-%08lld-%08x%04llx", static_cast<long long>(root_.version + 1),
                static_cast<unsigned>(nonce_ & 0xffffffff),
                static_cast<unsigned long long>(names_++ & 0xffff));
  return buf;
}

Result<DayManifest> PartitionCommitter::Day(EventDate date) {
  auto cached = days_.find(date);
  auto ref = root_.days.find(date);
  if (ref == root_.days.end()) {
    DayManifest empty;
    empty.date = date;
    return empty;
  }
  if (cached != days_.end() && cached->second.version == ref->second.manifest) {
    return cached->second;
  }
  auto json = store_->Get(DayManifestKey(date, ref->second.manifest));
  if (!json.ok()) return json.status();
  auto m = DecodeDayManifest(*json);
  if (!m.ok()) return m.status();
  days_[date] = *m;
  return m;
}

Status PartitionCommitter::Recover() {
  days_.clear();
  deleted_tombstones_.clear();
  auto json = store_->Get(kRootManifestKey);
  if (json.ok()) {
    auto root = DecodeRootManifest(*json);
    if (!root.ok()) return root.status();
    root_ = std::move(root).value();
  } else if (json.status().IsNotFound()) {
    root_ = RootManifest{};
  } else {
    return json.status();
  }
  VP_RETURN_IF_ERROR(Probe("recover"));
  // Roll the last commit forward: its moves, then its _SUCCESS files.
  VP_RETURN_IF_ERROR(PublishPending());
  for (EventDate d : root_.touched) {
    auto ref = root_.days.find(d);
    if (ref != root_.days.end() && ref->second.sealed) VP_RETURN_IF_ERROR(WriteSuccess(d));
  }
  // Staged objects no commit references belong to commits that never happened.
  auto staged = store_->List(kStagingPrefix);
  if (!staged.ok()) return staged.status();
  for (const ObjectInfo& o : *staged) {
    bool pending = std::any_of(root_.pending.begin(), root_.pending.end(),
                               [&](const Publish& p) { return p.from == o.key; });
    if (!pending) VP_RETURN_IF_ERROR(store_->Delete(o.key));
  }
  return CollectGarbage();
}

Status PartitionCommitter::PublishPending() {
  for (const Publish& p : root_.pending) {
    if (store_->Exists(p.from)) {
      VP_RETURN_IF_ERROR(store_->Rename(p.from, p.to));
      VP_RETURN_IF_ERROR(Probe("publish"));
    } else if (!store_->Exists(p.to)) {
      return Status::Corruption("lake: committed file " + p.to + " is missing (and " + p.from +
                                " too)");
    }
  }
  return Status::OK();
}

Status PartitionCommitter::WriteSuccess(EventDate date) {
  auto m = Day(date);
  if (!m.ok()) return m.status();
  VP_RETURN_IF_ERROR(store_->Put(SuccessKey(date), EncodeSuccess(*m)));
  return Probe("success");
}

DayManifest PartitionCommitter::NextDayVersion(EventDate date, const DayManifest& current,
                                               const LakeCommit& c, int64_t now) const {
  DayManifest m = current;
  m.date = date;
  m.version = current.version + 1;
  m.schema_version = kLakeSchemaVersion;
  m.committed_at_ms = now;
  bool added = false;
  if (auto it = c.remove.find(date); it != c.remove.end()) {
    std::erase_if(m.files, [&](const LakeFile& f) {
      return std::find(it->second.begin(), it->second.end(), f.key) != it->second.end();
    });
  }
  for (const StagedFile& s : c.add) {
    if (s.date == date) {
      m.files.push_back(s.file);
      added = true;
    }
  }
  std::sort(m.files.begin(), m.files.end(),
            [](const LakeFile& a, const LakeFile& b) { return a.key < b.key; });
  if (auto it = c.late.find(date); it != c.late.end()) {
    m.late.events += it->second.events;
    m.late.max_lateness_ms = std::max(m.late.max_lateness_ms, it->second.max_lateness_ms);
  }
  if (m.sealed && added) ++m.late.versions;
  if (c.seal.count(date) && !m.sealed) {
    m.sealed = true;
    m.sealed_at_ms = now;
    m.sealed_version = m.version;
  }
  if (auto it = c.backfill_seed.find(date); it != c.backfill_seed.end()) {
    m.backfill_seed = it->second;
  }
  return m;
}

Status PartitionCommitter::Commit(const LakeCommit& c) {
  const int64_t now = clock_->NowMs();
  VP_RETURN_IF_ERROR(Probe("begin"));
  std::set<EventDate> touched(c.seal.begin(), c.seal.end());
  for (const StagedFile& s : c.add) touched.insert(s.date);
  for (const auto& [d, keys] : c.remove) touched.insert(d);
  for (const auto& [d, late] : c.late) touched.insert(d);

  // 1. New day manifest versions (invisible until the root names them).
  std::map<EventDate, DayManifest> next_days;
  for (EventDate d : touched) {
    auto current = Day(d);
    if (!current.ok()) return current.status();
    DayManifest m = NextDayVersion(d, *current, c, now);
    VP_RETURN_IF_ERROR(store_->Put(DayManifestKey(d, m.version), EncodeDayManifest(m)));
    VP_RETURN_IF_ERROR(Probe("day_manifest"));
    next_days[d] = std::move(m);
  }

  // 2. The root: the commit point.
  RootManifest next = root_;
  next.version = root_.version + 1;
  next.schema_version = kLakeSchemaVersion;
  next.committed_at_ms = now;
  if (c.offsets) next.offsets = *c.offsets;
  next.watermark_ms = std::max(root_.watermark_ms, c.watermark_ms);
  for (const auto& [d, m] : next_days) {
    next.days[d] = DayRef{m.version, m.sealed, m.Rows(), m.Bytes(),
                          static_cast<int64_t>(m.files.size())};
  }
  next.pending.clear();
  for (const StagedFile& s : c.add) next.pending.push_back({s.staged_key, s.file.key});
  next.touched.assign(touched.begin(), touched.end());
  std::erase_if(next.tombstones,
                [&](const Tombstone& t) { return deleted_tombstones_.count(t.key) > 0; });
  for (const auto& [d, keys] : c.remove) {
    for (const std::string& k : keys) next.tombstones.push_back({k, now + tombstone_grace_ms_});
  }
  VP_RETURN_IF_ERROR(store_->Put(kRootManifestKey, EncodeRootManifest(next)));
  root_ = std::move(next);
  deleted_tombstones_.clear();
  for (auto& [d, m] : next_days) days_[d] = std::move(m);
  VP_RETURN_IF_ERROR(Probe("root"));

  // 3.-5. Roll forward: publish, _SUCCESS, garbage.
  VP_RETURN_IF_ERROR(PublishPending());
  for (EventDate d : touched) {
    if (root_.days[d].sealed) VP_RETURN_IF_ERROR(WriteSuccess(d));
  }
  for (EventDate d : touched) {
    int64_t old = root_.days[d].manifest - 2;
    if (old >= 1) VP_RETURN_IF_ERROR(store_->Delete(DayManifestKey(d, old)));
  }
  return CollectGarbage();
}

bool PartitionCommitter::HasTombstones(const std::string& prefix) const {
  return std::any_of(root_.tombstones.begin(), root_.tombstones.end(), [&](const Tombstone& t) {
    return t.key.rfind(prefix, 0) == 0 && !deleted_tombstones_.count(t.key);
  });
}

Status PartitionCommitter::CollectGarbage(bool ignore_grace) {
  const int64_t now = clock_->NowMs();
  for (const Tombstone& t : root_.tombstones) {
    if ((t.delete_after_ms > now && !ignore_grace) || deleted_tombstones_.count(t.key)) continue;
    VP_RETURN_IF_ERROR(store_->Delete(t.key));
    deleted_tombstones_.insert(t.key);
    VP_RETURN_IF_ERROR(Probe("gc"));
  }
  return Status::OK();
}

}  // namespace viewpipe
