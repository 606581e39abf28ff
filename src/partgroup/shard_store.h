#pragma once
// ShardStore: what a group's processor needs of its checkpoints: a
// partition's shard loaded from the shared store, stored back, and a new
// empty state (ops: opsgroup/shard_checkpoints.h; sre:
// sregroup/sre_shard_checkpoints.h; both frame their objects with
// ShardCheckpointFile).
//
// Thread safety: as the implementation says.

#include <memory>
#include <string>

#include "common/status.h"
#include "log/log.h"
#include "partgroup/shard_map.h"

namespace viewpipe::partgroup {

template <typename State>
class ShardStore {
 public:
  virtual ~ShardStore() = default;
  // Stores the checkpoint of s (partition p); *bytes gets its size.
  virtual Status Save(PartitionId p, const PartitionShard<State>& s, uint64_t* bytes) = 0;
  Status Save(PartitionId p, const PartitionShard<State>& s) { return Save(p, s, nullptr); }
  // NotFound when the partition has none; Corruption when it is damaged,
  // of another partition, or written with other options.
  virtual Result<PartitionShard<State>> Load(PartitionId p) = 0;
  // A new, empty state.
  virtual std::unique_ptr<State> Fresh() const = 0;
  // Where the checkpoints live (for logs).
  virtual std::string where() const = 0;
};

}  // namespace viewpipe::partgroup
