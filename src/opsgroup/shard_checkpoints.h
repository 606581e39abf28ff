#pragma once
// ShardCheckpoints: the checkpoint of each partition's ops state in a store
// every process of the ops group can read (an ObjectStore: a shared
// directory or an S3 prefix), so a partition's next owner restores the
// sessions its last owner had and replays from there.
//
// Object ops/partitions/<p>/checkpoint: a checkpoint file (ops/
// checkpoint_file.h framing) of
//   section 17 "shard": varint partition, varint next offset, signed
//              partition time (INT64_MIN: none)
//   then the partition's SessionTracker sections.
// It is written to a local scratch file, then stored with one Put (atomic:
// a reader sees the old or the new checkpoint). Any checkpoint a process
// ever wrote is a consistent (state, offset) pair, so one written late by a
// process that already lost the partition is harmless: the next owner
// replays from its offset.
//
// Thread safety: Save and Load of different partitions may run at once;
// one partition from one thread at a time.

#include <memory>
#include <string>

#include "common/env.h"
#include "lake/object_store.h"
#include "opsgroup/partition_shards.h"

namespace viewpipe::ops {

class ShardCheckpoints {
 public:
  // store and env must outlive this; scratch_dir is a local directory.
  ShardCheckpoints(ObjectStore* store, Env* env, std::string scratch_dir,
                   const TrackerOptions& options);

  static std::string Key(PartitionId p);
  // Stores the checkpoint of s (partition p); *bytes gets its size.
  Status Save(PartitionId p, const Shard& s, uint64_t* bytes = nullptr);
  // NotFound when the partition has none; Corruption when it is damaged,
  // for another partition, or written with other tracker options.
  Result<Shard> Load(PartitionId p);
  std::string where() const { return store_->RootUri(); }

 private:
  std::string Scratch(PartitionId p, const char* what) const;

  ObjectStore* store_;
  Env* env_;
  std::string scratch_dir_;
  TrackerOptions options_;
};

}  // namespace viewpipe::ops
