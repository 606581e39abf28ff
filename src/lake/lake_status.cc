#include "common/json_writer.h"
#include "lake/lake_reader.h"

namespace viewpipe {

Result<std::string> LakeStatusJson(LakeReader* reader, size_t recent_days) {
  auto root = reader->Root();
  if (!root.ok()) return root.status();
  int64_t rows = 0;
  uint64_t bytes = 0;
  int64_t sealed = 0;
  for (const auto& [d, ref] : root->days) {
    rows += ref.rows;
    bytes += ref.bytes;
    sealed += ref.sealed;
  }
  std::string o = "{\"version\":";
  AppendJsonInt(&o, root->version);
  o += ",\"offsets\":{";
  bool first = true;
  for (const auto& [p, off] : root->offsets) {
    if (!first) o += ',';
    first = false;
    AppendJsonString(&o, std::to_string(p));
    o += ':';
    AppendJsonInt(&o, off);
  }
  o += "},\"watermark_ms\":";
  AppendJsonInt(&o, root->watermark_ms);
  o += ",\"days\":";
  AppendJsonInt(&o, static_cast<int64_t>(root->days.size()));
  o += ",\"sealed_days\":";
  AppendJsonInt(&o, sealed);
  o += ",\"rows\":";
  AppendJsonInt(&o, rows);
  o += ",\"bytes\":";
  AppendJsonInt(&o, static_cast<int64_t>(bytes));
  o += ",\"recent\":[";
  size_t n = 0;
  for (auto it = root->days.rbegin(); it != root->days.rend() && n < recent_days; ++it, ++n) {
    auto day = reader->Day(it->first, it->second);
    if (!day.ok()) return day.status();
    if (n > 0) o += ',';
    o += "{\"event_date\":";
    AppendJsonString(&o, it->first.ToString());
    o += ",\"manifest\":";
    AppendJsonInt(&o, day->version);
    o += ",\"files\":";
    AppendJsonInt(&o, static_cast<int64_t>(day->files.size()));
    o += ",\"rows\":";
    AppendJsonInt(&o, day->Rows());
    o += ",\"bytes\":";
    AppendJsonInt(&o, static_cast<int64_t>(day->Bytes()));
    o += day->sealed ? ",\"sealed\":true" : ",\"sealed\":false";
    o += ",\"late_events\":";
    AppendJsonInt(&o, day->late.events);
    o += ",\"max_lateness_ms\":";
    AppendJsonInt(&o, day->late.max_lateness_ms);
    o += ",\"late_versions\":";
    AppendJsonInt(&o, day->late.versions);
    o += '}';
  }
  o += "]}";
  return o;
}

}  // namespace viewpipe
