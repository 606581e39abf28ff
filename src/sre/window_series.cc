#include "sre/window_series.h"

#include "sre/sre_codec.h"

namespace viewpipe::sre {

void WindowSeries::Add(int64_t start, const GroupCounts& counts) {
  const int64_t bucket = start - ((start % step_ms_) + step_ms_) % step_ms_;
  GroupCounts& b = buckets_[bucket];
  for (const auto& [g, c] : counts) b[g].Merge(c);
  const int64_t horizon = bucket - keep_ms_;
  while (!buckets_.empty() && buckets_.begin()->first < horizon) buckets_.erase(buckets_.begin());
}

std::map<std::string, QoeCounts> WindowSeries::Range(QoeDim dim, int64_t from, int64_t to) const {
  std::map<std::string, QoeCounts> out;
  for (auto it = buckets_.lower_bound(from); it != buckets_.end() && it->first < to; ++it) {
    auto g = it->second.lower_bound(GroupKey{dim, ""});
    for (; g != it->second.end() && g->first.dim == dim; ++g) out[g->first.key].Merge(g->second);
  }
  return out;
}

std::map<int64_t, QoeCounts> WindowSeries::Series(const GroupKey& g, int64_t from,
                                                  int64_t to) const {
  std::map<int64_t, QoeCounts> out;
  for (auto it = buckets_.lower_bound(from); it != buckets_.end() && it->first < to; ++it) {
    auto f = it->second.find(g);
    if (f != it->second.end()) out[it->first] = f->second;
  }
  return out;
}

std::optional<int64_t> WindowSeries::oldest() const {
  if (buckets_.empty()) return std::nullopt;
  return buckets_.begin()->first;
}

void WindowSeries::Save(std::string* out) const { codec::PutTimedCounts(out, buckets_); }

bool WindowSeries::Load(std::string_view* in) { return codec::GetTimedCounts(in, &buckets_); }

}  // namespace viewpipe::sre
