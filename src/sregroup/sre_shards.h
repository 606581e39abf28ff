#pragma once
// SreShards: the QoE state of the `qoe` partitions one process of the sre
// group owns, one PartitionQoe per partition (partition_qoe.h says why the
// sum over partitions is exact), and the partials other members and the
// detector read from it (sre_partials.h).
//
// Thread safety: partgroup::ShardMap's (HTTP and detector threads read
// inside Read() / Report()).

#include <vector>

#include "log/log.h"
#include "partgroup/shard_map.h"
#include "sregroup/partition_qoe.h"
#include "sregroup/sre_partials.h"

namespace viewpipe::sre {

using SreShard = partgroup::PartitionShard<PartitionQoe>;

class SreShards : public partgroup::ShardMap<SreShard> {
 public:
  // One partial per owned partition for q.
  std::vector<PartitionPartial> Report(const PartialQuery& q) const;
};

// The partial of one shard for q (under the caller's lock).
PartitionPartial PartialOf(PartitionId p, const SreShard& s, const PartialQuery& q);

}  // namespace viewpipe::sre
