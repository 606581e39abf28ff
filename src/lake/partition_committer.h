#pragma once
// PartitionCommitter: the lake's exactly-once commit protocol (docs/lake.md).
//
// A commit adds staged files (already durable under _staging/), removes
// files (compaction), records the source offsets the files cover, seals
// days and reports late data, in these steps:
//   1. write a new, immutable manifest version of every day it touches;
//   2. replace _lake/root.json: the new day versions, the offsets, and the
//      staged -> final moves ("pending")            <- the commit point
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
// Not thread safe: one writer per lake (the caller holds the lake's lock).

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
  std::optional<std::map<PartitionId, Offset>> offsets;  // new source offsets
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

  const RootManifest& root() const { return root_; }
  // Whether files under prefix were removed but not yet deleted.
  bool HasTombstones(const std::string& prefix) const;
  // The current manifest of a day (an empty one for a day without data).
  Result<DayManifest> Day(EventDate date);
  // A file name prefix no earlier attempt has used: part-<version>-<nonce>.
  std::string NewFileName();

 private:
  Status Probe(std::string_view step) { return probe_ ? probe_(step) : Status::OK(); }
  Status PublishPending();
  Status WriteSuccess(EventDate date);
  DayManifest NextDayVersion(EventDate date, const DayManifest& current, const LakeCommit& c,
                             int64_t now) const;

  ObjectStore* store_;
  Clock* clock_;
  int64_t tombstone_grace_ms_;
  CommitProbe probe_;
  RootManifest root_;
  std::map<EventDate, DayManifest> days_;  // cache of loaded current manifests
  std::set<std::string> deleted_tombstones_;
  uint64_t nonce_ = 0;
  uint64_t names_ = 0;
};

}  // namespace viewpipe
