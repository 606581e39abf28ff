#pragma once
// ShardCheckpoints: the checkpoint of each partition's ops state in a store
// every process of the ops group can read (an ObjectStore: a shared
// directory or an S3 prefix), so a partition's next owner restores the
// sessions its last owner had and replays from there.
//
// Object ops/partitions/<p>/checkpoint (partgroup/shard_checkpoint_file.h):
//   section 17 "shard": varint partition, varint next offset, signed
//              partition time (INT64_MIN: none)
//   then the partition's SessionTracker sections.
//
// Thread safety: Save and Load of different partitions may run at once;
// one partition from one thread at a time.

#include <memory>
#include <string>

#include "common/env.h"
#include "lake/object_store.h"
#include "opsgroup/partition_shards.h"
#include "partgroup/shard_checkpoint_file.h"
#include "partgroup/shard_store.h"

namespace viewpipe::ops {

class ShardCheckpoints final : public partgroup::ShardStore<SessionTracker> {
 public:
  // store and env must outlive this; scratch_dir is a local directory.
  ShardCheckpoints(ObjectStore* store, Env* env, std::string scratch_dir,
                   const TrackerOptions& options);

  static std::string Key(PartitionId p);
  using ShardStore::Save;
  Status Save(PartitionId p, const Shard& s, uint64_t* bytes) override;
  // NotFound when the partition has none; Corruption when it is damaged,
  // for another partition, or written with other tracker options.
  Result<Shard> Load(PartitionId p) override;
  std::unique_ptr<SessionTracker> Fresh() const override;
  std::string where() const override { return file_.where(); }

 private:
  partgroup::ShardCheckpointFile file_;
  TrackerOptions options_;
};

}  // namespace viewpipe::ops
