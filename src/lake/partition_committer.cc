#include "lake/partition_committer.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <random>

#include "lake/commit_merge.h"
#include "lake/lake_schema.h"
#include "lake/root_log.h"

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

std::string PartitionCommitter::StagingKey(const std::string& name, const std::string& key) const {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "t%013lld-", static_cast<long long>(clock_->NowMs()));
  return std::string(kStagingPrefix) + buf + name + "/" + key;
}

Result<DayManifest> PartitionCommitter::Day(EventDate date) {
  auto cached = days_.find(date);
  auto ref = root_.days.find(date);
  if (ref == root_.days.end()) {
    DayManifest empty;
    empty.date = date;
    return empty;
  }
  if (cached != days_.end() && cached->second.version == ref->second.manifest &&
      cached->second.tag == ref->second.tag) {
    return cached->second;
  }
  auto json = store_->Get(DayManifestKey(date, ref->second.manifest, ref->second.tag));
  if (!json.ok()) return json.status();
  auto m = DecodeDayManifest(*json);
  if (!m.ok()) return m.status();
  days_[date] = *m;
  return m;
}

Status PartitionCommitter::Refresh() {
  auto root = LoadLatestRoot(store_);
  if (!root.ok()) return root.status();
  root_ = std::move(root).value();
  legacy_root_ = root_.version > 0 && !store_->Exists(RootKey(root_.version));
  // Roll the newest commit forward (its writer may have died before
  // publishing): its moves, then its _SUCCESS files.
  VP_RETURN_IF_ERROR(PublishPending());
  for (EventDate d : root_.touched) {
    auto ref = root_.days.find(d);
    if (ref != root_.days.end() && ref->second.sealed) VP_RETURN_IF_ERROR(WriteSuccess(d));
  }
  return Status::OK();
}

Status PartitionCommitter::Recover() {
  days_.clear();
  deleted_tombstones_.clear();
  VP_RETURN_IF_ERROR(Probe("recover"));
  VP_RETURN_IF_ERROR(Refresh());
  VP_RETURN_IF_ERROR(CleanStaging());
  return CollectGarbage();
}

// Staged objects no commit references belong to commits that never
// happened; but another live writer's upload is not referenced yet either:
// only those older than the grace go.
Status PartitionCommitter::CleanStaging() {
  auto staged = store_->List(kStagingPrefix);
  if (!staged.ok()) return staged.status();
  const int64_t now = clock_->NowMs();
  for (const ObjectInfo& o : *staged) {
    bool pending = std::any_of(root_.pending.begin(), root_.pending.end(),
                               [&](const Publish& p) { return p.from == o.key; });
    if (pending) continue;
    long long ms = 0;
    std::string rest = o.key.substr(std::strlen(kStagingPrefix));
    if (std::sscanf(rest.c_str(), "t%13lld-", &ms) == 1 && now - ms < staging_grace_ms_) continue;
    VP_RETURN_IF_ERROR(store_->Delete(o.key));
  }
  return Status::OK();
}

Status PartitionCommitter::PublishPending() {
  for (const Publish& p : root_.pending) {
    if (store_->Exists(p.from)) {
      Status st = store_->Rename(p.from, p.to);
      // Another writer rolling the same commit forward may have moved it.
      if (!st.ok() && !(store_->Exists(p.to) && !store_->Exists(p.from))) return st;
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

RootManifest PartitionCommitter::NextRoot(const LakeCommit& c,
                                          const std::map<EventDate, DayManifest>& days,
                                          const std::set<EventDate>& touched, int64_t now) const {
  RootManifest next = root_;
  next.version = root_.version + 1;
  next.schema_version = kLakeSchemaVersion;
  next.committed_at_ms = now;
  if (c.offsets) LayOver(&next.offsets, *c.offsets);
  LayOver(&next.watermarks, c.watermarks);
  next.watermark_ms = std::max(root_.watermark_ms, c.watermark_ms);
  for (const auto& [d, m] : days) {
    next.days[d] = DayRef{m.version, m.tag, m.sealed, m.Rows(), m.Bytes(),
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
  return next;
}

Status PartitionCommitter::TryCommit(const LakeCommit& c, const std::set<EventDate>& touched,
                                     int64_t now) {
  VP_RETURN_IF_ERROR(CheckFence(root_, c.offsets_from));
  char tag[32];
  std::snprintf(tag, sizeof(tag), "%08x%06llx", static_cast<unsigned>(nonce_ >> 32),
                static_cast<unsigned long long>(names_++ & 0xffffff));
  // 1. New day manifest versions (invisible until a root names them).
  std::map<EventDate, DayManifest> next_days;
  std::vector<std::string> written;
  Status st;
  for (EventDate d : touched) {
    auto current = Day(d);
    // A stale root's day version that other writers' commits already
    // deleted: re-read the newest root, as after a lost race.
    if (!current.ok() && current.status().IsNotFound()) {
      return AlreadyExists(RootKey(root_.version));
    }
    if (!current.ok()) return current.status();
    if (auto it = c.remove.find(d); it != c.remove.end()) {
      VP_RETURN_IF_ERROR(CheckRemovable(*current, it->second));
    }
    DayManifest m = NextDayVersion(d, *current, c, now);
    m.tag = tag;
    std::string key = DayManifestKey(d, m.version, m.tag);
    VP_RETURN_IF_ERROR(store_->Put(key, EncodeDayManifest(m)));
    written.push_back(key);
    VP_RETURN_IF_ERROR(Probe("day_manifest"));
    next_days[d] = std::move(m);
  }
  // 2. The root: the commit point, if no other writer took this version.
  RootManifest next = NextRoot(c, next_days, touched, now);
  st = CreateRoot(store_, next);
  if (!st.ok()) {
    for (const std::string& key : written) store_->Delete(key).ok();  // orphans: tidy only
    return st;
  }
  root_ = std::move(next);
  deleted_tombstones_.clear();
  for (auto& [d, m] : next_days) days_[d] = std::move(m);
  return Status::OK();
}

Status PartitionCommitter::Commit(const LakeCommit& c) {
  const int64_t now = clock_->NowMs();
  VP_RETURN_IF_ERROR(Probe("begin"));
  std::set<EventDate> touched(c.seal.begin(), c.seal.end());
  for (const StagedFile& s : c.add) touched.insert(s.date);
  for (const auto& [d, keys] : c.remove) touched.insert(d);
  for (const auto& [d, late] : c.late) touched.insert(d);

  for (int attempt = 0;; ++attempt) {
    Status st = TryCommit(c, touched, now);
    if (st.ok()) break;
    // Another writer created this root version first: merge onto it.
    if (!IsAlreadyExists(st) || attempt >= 50) return st;
    ++conflicts_;
    VP_RETURN_IF_ERROR(Refresh());
  }
  VP_RETURN_IF_ERROR(Probe("root"));

  // 3.-5. Roll forward: publish, _SUCCESS, garbage.
  VP_RETURN_IF_ERROR(PublishPending());
  for (EventDate d : touched) {
    if (root_.days[d].sealed) VP_RETURN_IF_ERROR(WriteSuccess(d));
  }
  for (EventDate d : touched) VP_RETURN_IF_ERROR(DeleteOldDayManifests(d, root_.days[d].manifest));
  VP_RETURN_IF_ERROR(PruneRoots(store_, root_.version, legacy_root_));
  legacy_root_ = false;
  return CollectGarbage();
}

// Keeps the two newest versions of a day (a reader that listed the
// previous root may still read the one before), and drops the orphans of
// attempts that lost a race.
Status PartitionCommitter::DeleteOldDayManifests(EventDate date, int64_t current) {
  if (current < 3) return Status::OK();
  const std::string prefix = DayPrefix(date) + "_manifest-v";
  auto listed = store_->List(prefix);
  if (!listed.ok()) return listed.status();
  for (const ObjectInfo& o : *listed) {
    long long v = 0;
    if (std::sscanf(o.key.c_str() + prefix.size(), "%8lld", &v) != 1) continue;
    if (v <= current - 2) VP_RETURN_IF_ERROR(store_->Delete(o.key));
  }
  return Status::OK();
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
