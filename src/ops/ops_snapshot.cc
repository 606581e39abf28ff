#include "ops/ops_snapshot.h"

#include <algorithm>

#include "common/json_writer.h"

namespace viewpipe::ops {
namespace {

constexpr size_t kStreamTop = 10;

}  // namespace

void AppendGroupsJson(const SessionTracker& tracker, Dimension d,
                      const std::vector<OpsSnapshot::Group>& groups, size_t limit,
                      std::string* out) {
  const NameTable& names = tracker.keys().names(d);
  const size_t n = std::min(limit, groups.size());
  for (size_t i = 0; i < n; ++i) {
    if (i > 0) out->push_back(',');
    out->append("{\"key\":");
    AppendJsonString(out, names.Name(groups[i].id));
    out->append(",\"viewers\":");
    AppendJsonInt(out, groups[i].viewers);
    out->push_back('}');
  }
}

std::shared_ptr<OpsSnapshot> BuildSnapshot(const SessionTracker& tracker, uint64_t version) {
  auto snap = std::make_shared<OpsSnapshot>();
  snap->version = version;
  snap->as_of = tracker.as_of();
  const ViewerSeries& series = tracker.series();
  const KeyDirectory& keys = tracker.keys();
  snap->total = series.Current(ViewerSeries::kTotal);
  for (Dimension d : kAllDimensions) {
    std::vector<OpsSnapshot::Group>& groups = snap->groups[Index(d)];
    const uint32_t n = keys.size(d);
    for (uint32_t id = 0; id < n; ++id) {
      const int32_t v = series.Current(keys.Key(d, id));
      if (v > 0) groups.push_back({id, v});
    }
    const NameTable& names = keys.names(d);
    std::sort(groups.begin(), groups.end(),
              [&names](const OpsSnapshot::Group& a, const OpsSnapshot::Group& b) {
                if (a.viewers != b.viewers) return a.viewers > b.viewers;
                return names.Name(a.id) < names.Name(b.id);
              });
  }
  std::string& ev = snap->stream_event;
  ev = "data: {\"as_of\":";
  AppendJsonInt(&ev, snap->as_of * 1000);
  ev += ",\"total\":";
  AppendJsonInt(&ev, snap->total);
  ev += ",\"top\":{";
  for (Dimension d : kAllDimensions) {
    if (d != Dimension::kTitle) ev += ',';
    AppendJsonString(&ev, DimensionName(d));
    ev += ":[";
    AppendGroupsJson(tracker, d, snap->groups[Index(d)], kStreamTop, &ev);
    ev += ']';
  }
  ev += "}}\n\n";
  return snap;
}

}  // namespace viewpipe::ops
