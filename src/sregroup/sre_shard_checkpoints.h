#pragma once
// SreShardCheckpoints: each `qoe` partition's QoE state in the store every
// process of the sre group reads (the [ops] state_uri ObjectStore: a shared
// directory or an S3 prefix), so a partition's next owner restores what its
// last owner had and replays from there (as opsgroup/shard_checkpoints.h).
//
// Object sre/partitions/<p>/checkpoint (partgroup/shard_checkpoint_file.h):
//   section 33 "shard": varint partition, varint next offset, signed
//              partition time (INT64_MIN: none)
//   then PartitionQoe's sections (34...), then the end (nothing else).
//
// Thread safety: Save and Load of different partitions may run at once.

#include <string>

#include "common/env.h"
#include "lake/object_store.h"
#include "partgroup/shard_checkpoint_file.h"
#include "partgroup/shard_store.h"
#include "sregroup/sre_shards.h"

namespace viewpipe::sre {

class SreShardCheckpoints final : public partgroup::ShardStore<PartitionQoe> {
 public:
  // store and env must outlive this; scratch_dir is a local directory.
  SreShardCheckpoints(ObjectStore* store, Env* env, std::string scratch_dir,
                      const SreOptions& options, int64_t slice_keep_ms);

  static std::string Key(PartitionId p);
  using ShardStore::Save;
  Status Save(PartitionId p, const SreShard& s, uint64_t* bytes) override;
  // NotFound when the partition has none; Corruption when it is damaged,
  // of another partition, or written with other options.
  Result<SreShard> Load(PartitionId p) override;
  // A new, empty shard state.
  std::unique_ptr<PartitionQoe> Fresh() const override;
  std::string where() const override { return file_.where(); }

 private:
  partgroup::ShardCheckpointFile file_;
  SreOptions options_;
  int64_t slice_keep_ms_;
};

}  // namespace viewpipe::sre
