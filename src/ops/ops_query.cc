#include "ops/ops_query.h"

#include <algorithm>

namespace viewpipe::ops {

void CountsAt(const SessionTracker& tracker, int64_t second, std::optional<Dimension> d,
              int64_t* total, std::vector<OpsSnapshot::Group>* groups) {
  const ViewerSeries& series = tracker.series();
  *total = series.At(ViewerSeries::kTotal, second);
  groups->clear();
  if (!d) return;
  const KeyDirectory& keys = tracker.keys();
  const uint32_t n = keys.size(*d);
  for (uint32_t id = 0; id < n; ++id) {
    const int32_t v = series.At(keys.Key(*d, id), second);
    if (v > 0) groups->push_back({id, v});
  }
  const NameTable& names = keys.names(*d);
  std::sort(groups->begin(), groups->end(),
            [&names](const OpsSnapshot::Group& a, const OpsSnapshot::Group& b) {
              if (a.viewers != b.viewers) return a.viewers > b.viewers;
              return names.Name(a.id) < names.Name(b.id);
            });
}

void SeriesOf(const SessionTracker& tracker, std::optional<Dimension> d, std::string_view key,
              int64_t from, int64_t to, int64_t step,
              std::vector<std::pair<int64_t, int64_t>>* points) {
  points->clear();
  std::optional<ViewerSeries::KeyId> k = ViewerSeries::kTotal;
  if (d) {
    auto id = tracker.keys().Find(*d, key);
    k = id ? std::optional(tracker.keys().Key(*d, *id)) : std::nullopt;
  }
  for (int64_t s = from; s <= to; s += step) {
    points->emplace_back(s, k ? tracker.series().At(*k, s) : 0);
  }
}

}  // namespace viewpipe::ops
