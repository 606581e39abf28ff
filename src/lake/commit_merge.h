#pragma once
// The rules that let several lake writers commit into one lake
// (docs/scale.md, "The lake path as several processes"), as pure functions
// of manifests so they are tested without a store:
//
//   - Fencing: a commit advances a partition's offset only from the value
//     the writer read (the offset its files for that partition start at).
//     If the lake's offset moved meanwhile, another writer owns the
//     partition now and has committed its records: this commit would write
//     them twice, so it is refused.
//   - Merge: a commit built on root N that lost the race for N+1 is rebuilt
//     on the newest root: its day manifests from the newest day versions
//     (its files added, the files it removed taken out), its offsets and
//     watermarks laid over the newest ones, other partitions untouched.
//     A compaction whose input files another writer already replaced
//     cannot be merged and is dropped.
//   - Sealing: with several writers a day is due when the watermark of
//     every partition of the source (each written by the partition's owner)
//     has passed the day's end + grace.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "lake/manifest.h"

namespace viewpipe {

// Commit() failed because another writer's commit conflicts with it:
// Aborted with this message prefix.
inline constexpr std::string_view kCommitConflict = "lake commit conflict: ";
Status CommitConflict(const std::string& what);
bool IsCommitConflict(const Status& st);

// OK when every partition of `from` is either absent from root.offsets or
// still at the offset given; a CommitConflict naming the partition else.
Status CheckFence(const RootManifest& root, const std::map<PartitionId, Offset>& from);

// CommitConflict when a key of `removed` is no longer in day (another
// writer's compaction replaced it first).
Status CheckRemovable(const DayManifest& day, const std::vector<std::string>& removed);

// `into` with every entry of `over` laid over it.
template <typename V>
void LayOver(std::map<PartitionId, V>* into, const std::map<PartitionId, V>& over) {
  for (const auto& [p, v] : over) (*into)[p] = v;
}

// The processing time every partition 0..partitions-1 has reached
// (the minimum of root.watermarks); 0 while one of them has none.
int64_t MinPartitionWatermark(const RootManifest& root, int partitions);

}  // namespace viewpipe
