#pragma once
// PartitionShard and ShardMap: the state of the partitions one process of a
// group owns (the ops group: a SessionTracker per partition of `viewing`;
// the sre group: a PartitionQoe per partition of `qoe`), one shard per
// partition, with the offset and time the group's processor keeps for it.
//
// Thread safety: one shared mutex. The consumer thread is the only writer:
// it changes shards (and the map: partitions gained and lost) inside
// Write(), held for one polled batch, and may read them without the lock
// elsewhere (owner_view). HTTP and detector threads read inside Read() /
// Each() (shared lock).

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <type_traits>
#include <vector>

#include "log/log.h"

namespace viewpipe::partgroup {

template <typename State>
struct PartitionShard {
  static constexpr int64_t kNoTime = INT64_MIN;
  std::unique_ptr<State> state;
  Offset next = 0;         // one past the last record applied
  int64_t time = kNoTime;  // the largest min(ts, received_at) the partition delivered
  bool caught_up = false;  // nothing unread in the partition (last look)
};

template <typename Shard>
class ShardMap {
 public:
  using Map = std::map<PartitionId, Shard>;

  template <typename Fn>
  auto Write(Fn&& fn) {
    std::unique_lock<std::shared_mutex> lock(mu_);
    return fn(shards_);
  }
  // The consumer thread's unlocked view (it is the only writer).
  const Map& owner_view() const { return shards_; }
  template <typename Fn>
  auto Read(Fn&& fn) const {
    std::shared_lock<std::shared_mutex> lock(mu_);
    return fn(static_cast<const Map&>(shards_));
  }
  // fn(p, shard) of every owned partition, in partition order.
  template <typename Fn>
  auto Each(Fn&& fn) const {
    using Out = std::decay_t<decltype(fn(PartitionId{}, std::declval<const Shard&>()))>;
    return Read([&fn](const Map& shards) {
      std::vector<Out> out;
      for (const auto& [p, s] : shards) out.push_back(fn(p, s));
      return out;
    });
  }
  std::vector<PartitionId> Owned() const {
    return Each([](PartitionId p, const Shard&) { return p; });
  }

 private:
  mutable std::shared_mutex mu_;
  Map shards_;
};

}  // namespace viewpipe::partgroup
