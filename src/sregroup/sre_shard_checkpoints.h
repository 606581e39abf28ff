#pragma once
// SreShardCheckpoints: each `qoe` partition's QoE state in the store every
// process of the sre group reads (the [ops] state_uri ObjectStore: a shared
// directory or an S3 prefix), so a partition's next owner restores what its
// last owner had and replays from there (as opsgroup/shard_checkpoints.h).
//
// Object sre/partitions/<p>/checkpoint: a checkpoint file (ops/
// checkpoint_file.h framing) of
//   section 33 "shard": varint partition, varint next offset, signed
//              partition time (INT64_MIN: none)
//   then PartitionQoe's sections (34...).
// Written to a local scratch file, then stored with one PutFile (atomic).
// Any checkpoint ever written is a consistent (state, offset) pair, so a
// late one from a process that already lost the partition is harmless.
//
// Thread safety: Save and Load of different partitions may run at once.

#include <string>

#include "common/env.h"
#include "lake/object_store.h"
#include "sregroup/sre_shards.h"

namespace viewpipe::sre {

class SreShardCheckpoints {
 public:
  // store and env must outlive this; scratch_dir is a local directory.
  SreShardCheckpoints(ObjectStore* store, Env* env, std::string scratch_dir,
                      const SreOptions& options, int64_t slice_keep_ms);

  static std::string Key(PartitionId p);
  Status Save(PartitionId p, const SreShard& s, uint64_t* bytes = nullptr);
  // NotFound when the partition has none; Corruption when it is damaged,
  // of another partition, or written with other options.
  Result<SreShard> Load(PartitionId p);
  // A new, empty shard state.
  std::unique_ptr<PartitionQoe> Fresh() const;
  std::string where() const { return store_->RootUri(); }

 private:
  std::string Scratch(PartitionId p, const char* what) const;

  ObjectStore* store_;
  Env* env_;
  std::string scratch_dir_;
  SreOptions options_;
  int64_t slice_keep_ms_;
};

}  // namespace viewpipe::sre
