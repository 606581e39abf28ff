#include "sregroup/merged_qoe.h"

#include <algorithm>

namespace viewpipe::sre {
namespace {

constexpr int kAttempts = 3;

std::string PartitionList(const std::vector<PartitionId>& ps) {
  std::string s;
  for (PartitionId p : ps) s += (s.empty() ? "" : ", ") + std::to_string(p);
  return s;
}

}  // namespace

std::vector<PartitionId> MissingPartitions(const std::vector<PartitionPartial>& parts,
                                           int partitions) {
  std::vector<PartitionId> missing;
  for (PartitionId p = 0; p < partitions; ++p) {
    auto has = [p](const PartitionPartial& x) { return x.partition == p; };
    if (std::none_of(parts.begin(), parts.end(), has)) missing.push_back(p);
  }
  return missing;
}

std::vector<PartitionPartial> NewestPerPartition(std::vector<PartitionPartial> parts) {
  std::map<PartitionId, PartitionPartial> by;
  for (PartitionPartial& p : parts) {
    auto it = by.find(p.partition);
    if (it == by.end() || p.next > it->second.next) by[p.partition] = std::move(p);
  }
  std::vector<PartitionPartial> out;
  for (auto& [p, part] : by) out.push_back(std::move(part));
  return out;
}

MergedQoe::MergedQoe(SreShards* local, partgroup::GroupMembers* members, int partitions,
                     const SreOptions& options)
    : local_(local),
      fanout_(members, "sre", spdlog::level::debug),
      partitions_(partitions),
      options_(options) {}

Gathered MergedQoe::Gather(const PartialQuery& q, const std::string& auth) {
  std::vector<PartitionPartial> all = local_->Report(q);
  fanout_.AskOthers(PartialsPath(q), auth, [&all](const std::string& body) {
    std::vector<PartitionPartial> theirs;
    VP_RETURN_IF_ERROR(DecodePartials(body, &theirs));
    for (PartitionPartial& p : theirs) all.push_back(std::move(p));
    return Status::OK();
  });
  Gathered g;
  g.parts = NewestPerPartition(std::move(all));
  g.missing = MissingPartitions(g.parts, partitions_);
  if (!g.missing.empty()) {
    g.status = 503;
    g.error = "partitions " + PartitionList(g.missing) + " of " + std::to_string(partitions_) +
              " of qoe have no live owner yet (a process of the sre group stopped and its "
              "partitions are being handed over): counts would be short";
  }
  return g;
}

int64_t MergedQoe::AsOf(const std::vector<PartitionPartial>& parts) {
  int64_t as_of = INT64_MAX;
  for (const PartitionPartial& p : parts) as_of = std::min(as_of, p.closed_through);
  return parts.empty() ? OpenWindows::kNothingClosed : as_of;
}

MergedQoeReading MergedQoe::Qoe(std::optional<QoeDim> dim, int64_t window_ms,
                                const std::string& auth) {
  MergedQoeReading out;
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    Gathered times = Gather(PartialQuery{}, auth);
    if (times.status != 200) return {times.status, times.error, {}};
    const int64_t as_of = AsOf(times.parts);
    if (as_of == OpenWindows::kNothingClosed) return {503, "no closed QoE window yet", {}};
    // SreState::Read's choice of series and range.
    const int64_t step = window_ms <= options_.keep_10s_ms ? options_.qoe.window_ms
                         : window_ms <= options_.keep_1m_ms ? 60000
                                                            : 300000;
    QoeReading& r = out.reading;
    r.as_of = as_of;
    r.step_ms = step;
    const int64_t from = as_of - window_ms;
    r.from = from - ((from % step) + step) % step;
    PartialQuery q;
    q.what = PartialQuery::What::kRange;
    q.from = r.from;
    q.to = as_of;
    q.step_ms = step;
    q.dim = dim;
    Gathered counts = Gather(q, auth);
    if (counts.status != 200) return {counts.status, counts.error, {}};
    if (AsOf(counts.parts) < as_of) continue;  // a partition moved and is behind: again
    r.total = QoeCounts{};
    r.groups.clear();
    for (const auto& [start, groups] : SumCounts(counts.parts)) {
      for (const auto& [g, c] : groups) {
        if (g.dim == QoeDim::kTotal) {
          r.total.Merge(c);
        } else {
          r.groups[g.key].Merge(c);
        }
      }
    }
    return out;
  }
  return {503, "the group's partitions kept moving while they were read; try again", {}};
}

std::optional<std::map<int64_t, QoeCounts>> MergedQoe::Series(const GroupKey& g, int64_t step_ms,
                                                              int64_t range_ms,
                                                              const std::string& auth,
                                                              std::string* error) {
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    Gathered times = Gather(PartialQuery{}, auth);
    if (times.status != 200) {
      *error = times.error;
      return std::nullopt;
    }
    const int64_t as_of = AsOf(times.parts);
    if (as_of == OpenWindows::kNothingClosed) return std::map<int64_t, QoeCounts>{};
    PartialQuery q;
    q.what = PartialQuery::What::kSeries;
    q.from = as_of - range_ms;
    q.to = as_of;
    q.step_ms = step_ms;
    q.group = g;
    Gathered counts = Gather(q, auth);
    if (counts.status != 200) {
      *error = counts.error;
      return std::nullopt;
    }
    if (AsOf(counts.parts) < as_of) continue;
    std::map<int64_t, QoeCounts> out;
    for (const auto& [at, groups] : SumCounts(counts.parts)) {
      for (const auto& [key, c] : groups) out[at].Merge(c);
    }
    return out;
  }
  *error = "the group's partitions kept moving while they were read; try again";
  return std::nullopt;
}

}  // namespace viewpipe::sre
