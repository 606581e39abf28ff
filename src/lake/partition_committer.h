#pragma once
// PartitionCommitter: the lake's exactly-once commit protocol (docs/lake.md).
//
// A commit adds staged files (already durable under _staging/), removes
// files (compaction), records the source offsets the files cover, seals
// days and reports late data, in these steps:
//   0. roll the newest root's own pending moves forward (another writer's
//      commit that crashed before publishing);
//   1. write a new, immutable manifest version of every day it touches
//      (named with a tag unique to the attempt);
//   2. create root N+1 (_lake/roots/, root_log.h) only if absent: the new
//      day versions, the offsets, and the staged -> final moves ("pending")
//                                                   <- the commit point
//   3. publish: move every staged file to its final Hive key;
//   4. rewrite _SUCCESS of the sealed days it touched;
//   5. garbage: old day manifest versions, files removed long enough ago.
// A crash before 2 leaves only unreferenced staged objects, removed by
// Recover(): nothing of the commit is visible and the source replays from
// the old offsets. A crash after 2 is rolled forward by Recover(): the
// pending moves and _SUCCESS files are completed. So every row is in the
// lake exactly once, whatever step a crash interrupts, and a Hive reader
// never sees a file that is not committed. Removed files stay readable for
// tombstone_grace_ms so queries that planned with them can finish.
//
// Several writers (processes) may commit into one lake: step 2 is a
// conditional create, and a writer that loses the race re-reads the newest
// root and rebuilds its commit on it (commit_merge.h: offsets only advance
// from the value the writer read, day manifests merged file by file). A
// commit that cannot be merged fails with a CommitConflict.
//
// Not thread safe: one committer per writer.

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "lake/manifest.h"
#include "lake/object_store.h"

namespace viewpipe {

// Called at every step of a commit and of recovery with the step's name;
// a non-OK status aborts there, as a crash would. Tests use it to crash at
// every step. May be empty.
using CommitProbe = std::function<Status(std::string_view step)>;

struct StagedFile {
  std::string staged_key;
  EventDate date;
  LakeFile file;  // file.key is the final key
};

struct LakeCommit {
  std::vector<StagedFile> add;
  std::map<EventDate, std::vector<std::string>> remove;  // final keys per day
  // New source offsets, laid over the lake's (partitions not named keep
  // theirs); the commit happens only if each partition of offsets_from is
  // still at that offset in the lake, or absent from it (fencing).
  std::optional<std::map<PartitionId, Offset>> offsets;
  std::map<PartitionId, Offset> offsets_from;
  std::map<PartitionId, int64_t> watermarks;  // per partition, laid over the lake's
  std::set<EventDate> seal;
  std::map<EventDate, LateReport> late;  // events added to already sealed days
  std::map<EventDate, uint64_t> backfill_seed;
  int64_t watermark_ms = 0;  // 0: unchanged
};

class PartitionCommitter {
 public:
  // store and clock must outlive the committer.
  PartitionCommitter(ObjectStore* store, Clock* clock, int64_t tombstone_grace_ms,
                     CommitProbe probe);

  // Loads the root manifest and completes or cleans up after an interrupted
  // commit (see above). Must precede the first Commit.
  Status Recover();
  // Runs the commit protocol. On error the committer must be recovered (or
  // the writer reopened) before the next commit.
  Status Commit(const LakeCommit& c);
  // Deletes the removed files whose grace has passed, or all of them when
  // ignore_grace (no reader can hold them: the server is stopping). At the
  // next commit they leave the root manifest.
  Status CollectGarbage(bool ignore_grace = false);
  // Recover deletes the staged objects no commit names only once they are
  // older than this (another live writer's upload is younger; default 0:
  // every one, for a lake with one writer).
  void set_staging_grace(int64_t ms) { staging_grace_ms_ = ms; }
  // Re-reads the newest root (other writers' commits) and rolls its
  // pending moves forward.
  Status Refresh();
  // Where a staged copy of final key goes for the commit named name
  // (_staging/t<ms>-<name>/<key>; the time lets a shared lake's recovery
  // tell an abandoned upload from a live writer's).
  std::string StagingKey(const std::string& name, const std::string& key) const;

  const RootManifest& root() const { return root_; }
  // Whether files under prefix were removed but not yet deleted.
  bool HasTombstones(const std::string& prefix) const;
  // The current manifest of a day (an empty one for a day without data).
  Result<DayManifest> Day(EventDate date);
  // Commits so far that lost the race for a root version and were merged.
  uint64_t conflicts() const { return conflicts_; }
  // A file name prefix no earlier attempt has used: part-<version>-<nonce>.
  std::string NewFileName();

 private:
  Status Probe(std::string_view step) { return probe_ ? probe_(step) : Status::OK(); }
  Status PublishPending();
  Status WriteSuccess(EventDate date);
  Status CleanStaging();
  DayManifest NextDayVersion(EventDate date, const DayManifest& current, const LakeCommit& c,
                             int64_t now) const;
  // One attempt on root_: CommitConflict / AlreadyExists when it lost.
  Status TryCommit(const LakeCommit& c, const std::set<EventDate>& touched, int64_t now);
  RootManifest NextRoot(const LakeCommit& c, const std::map<EventDate, DayManifest>& days,
                        const std::set<EventDate>& touched, int64_t now) const;
  Status DeleteOldDayManifests(EventDate date, int64_t current);

  ObjectStore* store_;
  Clock* clock_;
  int64_t tombstone_grace_ms_;
  CommitProbe probe_;
  RootManifest root_;
  std::map<EventDate, DayManifest> days_;  // cache of loaded current manifests
  std::set<std::string> deleted_tombstones_;
  uint64_t nonce_ = 0;
  uint64_t names_ = 0;
  int64_t staging_grace_ms_ = 0;
  bool legacy_root_ = false;  // root_ came from _lake/root.json
  uint64_t conflicts_ = 0;
};

}  // namespace viewpipe
