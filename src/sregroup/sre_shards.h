#pragma once
// SreShards: the QoE state of the `qoe` partitions one process of the sre
// group owns, one PartitionQoe per partition (partition_qoe.h says why the
// sum over partitions is exact), and the partials other members and the
// detector read from it (sre_partials.h).
//
// Thread safety: one shared mutex. The consumer thread is the only writer:
// it changes shards (and the map) inside Write() and may read them without
// the lock elsewhere (owner_view). HTTP and detector threads read inside
// Read() / Report() (shared lock).

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <vector>

#include "log/log.h"
#include "sregroup/partition_qoe.h"
#include "sregroup/sre_partials.h"

namespace viewpipe::sre {

struct SreShard {
  static constexpr int64_t kNoTime = INT64_MIN;
  std::unique_ptr<PartitionQoe> qoe;
  Offset next = 0;         // one past the last record applied
  int64_t time = kNoTime;  // the largest min(ts, received_at) the partition delivered
  bool caught_up = false;  // nothing unread in the partition (last look)
};

class SreShards {
 public:
  using Map = std::map<PartitionId, SreShard>;

  template <typename Fn>
  auto Write(Fn&& fn) {
    std::unique_lock<std::shared_mutex> lock(mu_);
    return fn(shards_);
  }
  const Map& owner_view() const { return shards_; }
  template <typename Fn>
  auto Read(Fn&& fn) const {
    std::shared_lock<std::shared_mutex> lock(mu_);
    return fn(static_cast<const Map&>(shards_));
  }
  // One partial per owned partition for q.
  std::vector<PartitionPartial> Report(const PartialQuery& q) const;
  std::vector<PartitionId> Owned() const;

 private:
  mutable std::shared_mutex mu_;
  Map shards_;
};

// The partial of one shard for q (under the caller's lock).
PartitionPartial PartialOf(PartitionId p, const SreShard& s, const PartialQuery& q);

}  // namespace viewpipe::sre
