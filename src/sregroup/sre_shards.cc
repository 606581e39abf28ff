#include "sregroup/sre_shards.h"

namespace viewpipe::sre {

PartitionPartial PartialOf(PartitionId p, const SreShard& s, const PartialQuery& q) {
  PartitionPartial out;
  out.partition = p;
  out.next = s.next;
  out.watermark = s.state->watermark().value_or(PartitionPartial::kNone);
  out.closed_through = s.state->closed_through();
  out.slices_from = s.state->slices_from();
  switch (q.what) {
    case PartialQuery::What::kTimes: break;
    case PartialQuery::What::kSlices:
      // The detector judges every group but title_id (outage_detector.h):
      // those are not sent.
      out.counts = s.state->Slices(q.from, q.to);
      for (auto& [start, groups] : out.counts) {
        std::erase_if(groups, [](const auto& g) { return g.first.dim == QoeDim::kTitleId; });
      }
      break;
    case PartialQuery::What::kRange: {
      const WindowSeries& series = s.state->SeriesOf(q.step_ms);
      GroupCounts& g = out.counts[q.from];
      for (auto& [key, c] : series.Range(QoeDim::kTotal, q.from, q.to)) g[GroupKey{}] = c;
      if (q.dim) {
        for (auto& [key, c] : series.Range(*q.dim, q.from, q.to)) g[GroupKey{*q.dim, key}] = c;
      }
      break;
    }
    case PartialQuery::What::kSeries: {
      for (auto& [at, c] : s.state->SeriesOf(q.step_ms).Series(q.group, q.from, q.to)) {
        out.counts[at][q.group] = c;
      }
      break;
    }
  }
  return out;
}

std::vector<PartitionPartial> SreShards::Report(const PartialQuery& q) const {
  return Each([&q](PartitionId p, const SreShard& s) { return PartialOf(p, s, q); });
}

}  // namespace viewpipe::sre
