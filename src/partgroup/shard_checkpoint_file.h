#pragma once
// ShardCheckpointFile: the objects <group>/partitions/<p>/checkpoint of a
// group (ops, sre) in a store every process of the group reads (an
// ObjectStore: a shared directory or an S3 prefix), so a partition's next
// owner restores what its last owner had and replays from there.
//
// An object is a checkpoint file (ops/checkpoint_file.h framing) of
//   section <shard_kind> "shard": varint partition, varint next offset,
//              signed partition time (INT64_MIN: none)
//   then the partition state's sections (the caller's).
// It is written to a local scratch file, then stored with one PutFile
// (atomic: a reader sees the old or the new checkpoint). Any checkpoint a
// process ever wrote is a consistent (state, offset) pair, so one written
// late by a process that already lost the partition is harmless: the next
// owner replays from its offset.
//
// Thread safety: Save and Open of different partitions may run at once;
// one partition from one thread at a time.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "common/env.h"
#include "lake/object_store.h"
#include "log/log.h"
#include "ops/checkpoint_file.h"

namespace viewpipe::partgroup {

class ShardCheckpointFile {
 public:
  // store and env must outlive this; scratch_dir is a local directory;
  // group names the keys and errors ("ops", "sre").
  ShardCheckpointFile(ObjectStore* store, Env* env, std::string scratch_dir, std::string group,
                      uint8_t shard_kind);

  static std::string Key(const std::string& group, PartitionId p);
  std::string Key(PartitionId p) const { return Key(group_, p); }
  uint8_t shard_kind() const { return shard_kind_; }
  std::string where() const { return store_->RootUri(); }

  using WriteState = std::function<Status(ops::CheckpointWriter*)>;
  // Stores partition p's checkpoint: the shard section, then write_state's.
  Status Save(PartitionId p, Offset next, int64_t time, const WriteState& write_state,
              uint64_t* bytes);
  // Opens p's checkpoint and reads its shard section into *next and *time;
  // the reader stands at the state's first section. NotFound when p has
  // none; Corruption when the shard section is bad or of another partition.
  Result<std::unique_ptr<ops::CheckpointReader>> Open(PartitionId p, Offset* next,
                                                      int64_t* time);
  // Corruption naming p's object (for the caller's own checks).
  Status Damaged(PartitionId p, const std::string& why) const;

 private:
  std::string Scratch(PartitionId p, const char* what) const;

  ObjectStore* store_;
  Env* env_;
  std::string scratch_dir_;
  std::string group_;
  uint8_t shard_kind_;
};

}  // namespace viewpipe::partgroup
