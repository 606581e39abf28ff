#include "lake/commit_merge.h"

#include <algorithm>

namespace viewpipe {

Status CommitConflict(const std::string& what) {
  return Status::Aborted(std::string(kCommitConflict) + what);
}

bool IsCommitConflict(const Status& st) {
  return st.code() == Status::Code::kAborted && st.message().rfind(kCommitConflict, 0) == 0;
}

Status CheckFence(const RootManifest& root, const std::map<PartitionId, Offset>& from) {
  for (const auto& [p, offset] : from) {
    auto it = root.offsets.find(p);
    if (it == root.offsets.end() || it->second == offset) continue;
    return CommitConflict("partition " + std::to_string(p) + " is at offset " +
                          std::to_string(it->second) + " in root v" +
                          std::to_string(root.version) + ", not at " + std::to_string(offset) +
                          " where this writer's records start: another writer owns it now");
  }
  return Status::OK();
}

Status CheckRemovable(const DayManifest& day, const std::vector<std::string>& removed) {
  for (const std::string& key : removed) {
    bool present = std::any_of(day.files.begin(), day.files.end(),
                               [&](const LakeFile& f) { return f.key == key; });
    if (!present) {
      return CommitConflict(key + " was already replaced in " + day.date.ToString() +
                            " v" + std::to_string(day.version) + " by another writer");
    }
  }
  return Status::OK();
}

int64_t MinPartitionWatermark(const RootManifest& root, int partitions) {
  if (partitions <= 0) return 0;
  int64_t min = INT64_MAX;
  for (PartitionId p = 0; p < partitions; ++p) {
    auto it = root.watermarks.find(p);
    if (it == root.watermarks.end()) return 0;
    min = std::min(min, it->second);
  }
  return min;
}

}  // namespace viewpipe
