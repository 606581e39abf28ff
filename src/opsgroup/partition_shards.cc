#include "opsgroup/partition_shards.h"

#include <algorithm>

#include "ops/ops_query.h"
#include "ops/time_math.h"

namespace viewpipe::ops {

PartitionReport ReportOf(PartitionId p, const Shard& s, const ReportQuery& q) {
  PartitionReport r;
  r.partition = p;
  r.next = s.next;
  r.caught_up = s.caught_up;
  const SessionTracker& t = *s.state;
  r.has_time = t.has_time();
  if (!r.has_time) return r;
  r.watermark = t.watermark();
  r.as_of = t.as_of();
  r.kept_begin = t.kept_begin();
  const int64_t running = std::max(t.as_of(), FloorDiv(t.watermark(), 1000));
  if (q.second && *q.second >= r.kept_begin && *q.second <= running) {
    r.has_counts = true;
    r.second = *q.second;
    std::vector<OpsSnapshot::Group> groups;
    CountsAt(t, r.second, std::nullopt, &r.total, &groups);
    for (Dimension d : q.dims) {
      int64_t total;
      CountsAt(t, r.second, d, &total, &groups);
      const NameTable& names = t.keys().names(d);
      for (const OpsSnapshot::Group& g : groups) {
        r.groups[Index(d)].emplace_back(std::string(names.Name(g.id)), g.viewers);
      }
    }
  }
  if (q.series && q.from >= r.kept_begin && q.to <= t.as_of() && q.from <= q.to) {
    SeriesOf(t, q.series_dim, q.key, q.from, q.to, q.step, &r.points);
  }
  return r;
}

std::vector<PartitionReport> PartitionShards::Report(const ReportQuery& q) const {
  return Each([&q](PartitionId p, const Shard& s) { return ReportOf(p, s, q); });
}

}  // namespace viewpipe::ops
