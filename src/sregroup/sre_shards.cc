#include "sregroup/sre_shards.h"

namespace viewpipe::sre {

PartitionPartial PartialOf(PartitionId p, const SreShard& s, const PartialQuery& q) {
  PartitionPartial out;
  out.partition = p;
  out.next = s.next;
  out.watermark = s.qoe->watermark().value_or(PartitionPartial::kNone);
  out.closed_through = s.qoe->closed_through();
  out.slices_from = s.qoe->slices_from();
  switch (q.what) {
    case PartialQuery::What::kTimes: break;
    case PartialQuery::What::kSlices:
      // The detector judges every group but title_id (outage_detector.h):
      // those are not sent.
      out.counts = s.qoe->Slices(q.from, q.to);
      for (auto& [start, groups] : out.counts) {
        std::erase_if(groups, [](const auto& g) { return g.first.dim == QoeDim::kTitleId; });
      }
      break;
    case PartialQuery::What::kRange: {
      const WindowSeries& series = s.qoe->SeriesOf(q.step_ms);
      GroupCounts& g = out.counts[q.from];
      for (auto& [key, c] : series.Range(QoeDim::kTotal, q.from, q.to)) g[GroupKey{}] = c;
      if (q.dim) {
        for (auto& [key, c] : series.Range(*q.dim, q.from, q.to)) g[GroupKey{*q.dim, key}] = c;
      }
      break;
    }
    case PartialQuery::What::kSeries: {
      for (auto& [at, c] : s.qoe->SeriesOf(q.step_ms).Series(q.group, q.from, q.to)) {
        out.counts[at][q.group] = c;
      }
      break;
    }
  }
  return out;
}

std::vector<PartitionPartial> SreShards::Report(const PartialQuery& q) const {
  return Read([&](const Map& m) {
    std::vector<PartitionPartial> out;
    for (const auto& [p, s] : m) out.push_back(PartialOf(p, s, q));
    return out;
  });
}

std::vector<PartitionId> SreShards::Owned() const {
  return Read([](const Map& m) {
    std::vector<PartitionId> out;
    for (const auto& [p, s] : m) out.push_back(p);
    return out;
  });
}

}  // namespace viewpipe::sre
