#include "opsgroup/merged_reader.h"

#include <httplib.h>

#include <algorithm>

#include "ops/ops_query.h"

namespace viewpipe::ops {
namespace {

constexpr int kAttempts = 3;
constexpr int64_t kDefaultSeriesSeconds = 3600;

MergedAnswer Fail(int status, std::string why) {
  MergedAnswer a;
  a.status = status;
  a.error = std::move(why);
  return a;
}

std::string RangeText(const MergedRange& r) {
  return "[" + std::to_string(r.kept_begin * 1000) + ", " + std::to_string(r.as_of * 1000) + "]";
}

}  // namespace

std::string PartialsQuery(const ReportQuery& q) {
  std::string s = "/v1/ops/partials?x=1";
  if (q.second) s += "&second=" + std::to_string(*q.second);
  if (!q.dims.empty()) {
    s += "&dims=";
    for (size_t i = 0; i < q.dims.size(); ++i) {
      if (i > 0) s += ',';
      s += DimensionName(q.dims[i]);
    }
  }
  if (q.series) {
    s += "&from=" + std::to_string(q.from) + "&to=" + std::to_string(q.to) +
         "&step=" + std::to_string(q.step);
    if (q.series_dim) {
      s += "&series_by=" + std::string(DimensionName(*q.series_dim)) + "&key=" +
           httplib::detail::encode_query_param(q.key);
    }
  }
  return s;
}

MergedReader::MergedReader(PartitionShards* local, partgroup::GroupMembers* members,
                           int partitions)
    : local_(local), fanout_(members, "ops", spdlog::level::warn), partitions_(partitions) {}

std::vector<PartitionReport> MergedReader::Collect(const ReportQuery& q, const std::string& auth) {
  std::vector<PartitionReport> out = local_->Report(q);
  fanout_.AskOthers(PartialsQuery(q), auth,
                    [&out](const std::string& body) { return ParseReports(body, &out); });
  return out;
}

std::optional<MergedAnswer> MergedReader::CheckComplete(
    const std::map<PartitionId, PartitionReport>& reports) {
  const std::vector<PartitionId> missing = MissingPartitions(reports, partitions_);
  if (missing.empty()) return std::nullopt;
  return Fail(503, "partitions " + PartitionList(missing) + " of " + std::to_string(partitions_) +
                       " have no live owner yet (a process of the ops group stopped and its "
                       "partitions are being handed over, or their owner is still replaying): "
                       "counts would be short");
}

MergedAnswer MergedReader::Counts(Mode mode, int64_t at_second,
                                  const std::vector<Dimension>& dims, const std::string& auth) {
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    const auto times = NewestReports(Collect(ReportQuery{}, auth));
    if (auto missing = CheckComplete(times)) return *missing;
    const MergedRange range = RangeOf(times);
    if (!range.any_time) return Fail(503, "no events yet: the ops path has not seen a viewing event");
    MergedAnswer a;
    a.second = mode == Mode::kNewest ? range.as_of
               : mode == Mode::kLive ? range.live_second
                                     : at_second;
    if (mode == Mode::kAt && (a.second < range.kept_begin || a.second > range.as_of)) {
      return Fail(400, "at " + std::to_string(at_second * 1000) + " is outside the kept series " +
                           RangeText(range) + " (complete seconds only)");
    }
    a.complete = a.second <= range.as_of;
    ReportQuery q;
    q.second = a.second;
    q.dims = dims;
    const auto counts = NewestReports(Collect(q, auth));
    if (auto missing = CheckComplete(counts)) return *missing;
    auto total = SumCounts(counts, a.second, std::nullopt);
    if (!total.ok()) continue;  // a partition moved between the rounds
    a.total = total->total;
    for (Dimension d : dims) a.groups[Index(d)] = SumCounts(counts, a.second, d)->groups;
    return a;
  }
  return Fail(503, "partitions kept moving between processes while reading; retry");
}

MergedAnswer MergedReader::Series(std::optional<Dimension> d, const std::string& key,
                                  std::optional<int64_t> from, std::optional<int64_t> to,
                                  int64_t step, const std::string& auth) {
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    const auto times = NewestReports(Collect(ReportQuery{}, auth));
    if (auto missing = CheckComplete(times)) return *missing;
    const MergedRange range = RangeOf(times);
    if (!range.any_time) return Fail(503, "no events yet: the ops path has not seen a viewing event");
    const int64_t last = to ? std::min(*to, range.as_of) : range.as_of;
    const int64_t first =
        std::max(from ? *from : last - kDefaultSeriesSeconds + 1, range.kept_begin);
    if (first > last) return Fail(400, "the range is outside the kept series " + RangeText(range));
    if ((last - first) / step + 1 > kMaxSeriesPoints) {
      return Fail(400, "too many points: at most " + std::to_string(kMaxSeriesPoints) +
                           " (raise step or narrow from/to)");
    }
    ReportQuery q;
    q.series = true;
    q.series_dim = d;
    q.key = key;
    q.from = first;
    q.to = last;
    q.step = step;
    const auto reports = NewestReports(Collect(q, auth));
    if (auto missing = CheckComplete(reports)) return *missing;
    MergedAnswer a;
    a.from = first;
    a.to = last;
    for (int64_t s = first; s <= last; s += step) a.points.emplace_back(s, 0);
    bool moved = false;
    for (const auto& [p, r] : reports) {
      if (!r.has_time) continue;
      if (r.points.size() != a.points.size()) {
        moved = true;
        break;
      }
      for (size_t i = 0; i < r.points.size(); ++i) a.points[i].second += r.points[i].second;
    }
    if (!moved) return a;
  }
  return Fail(503, "partitions kept moving between processes while reading; retry");
}

}  // namespace viewpipe::ops
