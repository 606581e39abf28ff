#include "opsgroup/partial_counts.h"

#include <simdjson.h>

#include <algorithm>
#include <unordered_map>

#include "common/json_writer.h"

namespace viewpipe::ops {
namespace {

void AppendPairs(const std::vector<std::pair<int64_t, int64_t>>& points, std::string* out) {
  out->push_back('[');
  for (size_t i = 0; i < points.size(); ++i) {
    if (i > 0) out->push_back(',');
    out->push_back('[');
    AppendJsonInt(out, points[i].first);
    out->push_back(',');
    AppendJsonInt(out, points[i].second);
    out->push_back(']');
  }
  out->push_back(']');
}

Status Bad(const std::string& what) {
  return Status::Corruption("ops partials: bad " + what);
}

Status ParseGroups(simdjson::dom::object groups, PartitionReport* r) {
  for (auto [name, list] : groups) {
    auto d = ParseDimension(name);
    simdjson::dom::array a;
    if (!d || list.get_array().get(a) != simdjson::SUCCESS) return Bad("groups");
    for (simdjson::dom::element pair : a) {
      std::string_view key;
      int64_t v;
      if (pair.at(0).get_string().get(key) != simdjson::SUCCESS ||
          pair.at(1).get_int64().get(v) != simdjson::SUCCESS) {
        return Bad("group entry");
      }
      r->groups[Index(*d)].emplace_back(std::string(key), v);
    }
  }
  return Status::OK();
}

Status ParseReport(simdjson::dom::object o, PartitionReport* r) {
  int64_t partition;
  if (o["partition"].get_int64().get(partition) != simdjson::SUCCESS ||
      o["next"].get_int64().get(r->next) != simdjson::SUCCESS ||
      o["has_time"].get_bool().get(r->has_time) != simdjson::SUCCESS ||
      o["caught_up"].get_bool().get(r->caught_up) != simdjson::SUCCESS) {
    return Bad("partition entry");
  }
  r->partition = static_cast<PartitionId>(partition);
  if (!r->has_time) return Status::OK();
  if (o["watermark"].get_int64().get(r->watermark) != simdjson::SUCCESS ||
      o["as_of"].get_int64().get(r->as_of) != simdjson::SUCCESS ||
      o["kept_begin"].get_int64().get(r->kept_begin) != simdjson::SUCCESS) {
    return Bad("partition times");
  }
  if (o["second"].get_int64().get(r->second) == simdjson::SUCCESS) {
    r->has_counts = true;
    simdjson::dom::object groups;
    if (o["total"].get_int64().get(r->total) != simdjson::SUCCESS) return Bad("total");
    if (o["groups"].get_object().get(groups) == simdjson::SUCCESS) {
      VP_RETURN_IF_ERROR(ParseGroups(groups, r));
    }
  }
  simdjson::dom::array points;
  if (o["points"].get_array().get(points) == simdjson::SUCCESS) {
    for (simdjson::dom::element p : points) {
      int64_t s, v;
      if (p.at(0).get_int64().get(s) != simdjson::SUCCESS ||
          p.at(1).get_int64().get(v) != simdjson::SUCCESS) {
        return Bad("point");
      }
      r->points.emplace_back(s, v);
    }
  }
  return Status::OK();
}

}  // namespace

void AppendReportJson(const PartitionReport& r, std::string* out) {
  *out += "{\"partition\":";
  AppendJsonInt(out, r.partition);
  *out += ",\"next\":";
  AppendJsonInt(out, r.next);
  *out += r.has_time ? ",\"has_time\":true" : ",\"has_time\":false";
  *out += r.caught_up ? ",\"caught_up\":true" : ",\"caught_up\":false";
  if (r.has_time) {
    *out += ",\"watermark\":";
    AppendJsonInt(out, r.watermark);
    *out += ",\"as_of\":";
    AppendJsonInt(out, r.as_of);
    *out += ",\"kept_begin\":";
    AppendJsonInt(out, r.kept_begin);
  }
  if (r.has_counts) {
    *out += ",\"second\":";
    AppendJsonInt(out, r.second);
    *out += ",\"total\":";
    AppendJsonInt(out, r.total);
    *out += ",\"groups\":{";
    bool first_dim = true;
    for (Dimension d : kAllDimensions) {
      const GroupCounts& g = r.groups[Index(d)];
      if (g.empty()) continue;
      if (!first_dim) out->push_back(',');
      first_dim = false;
      AppendJsonString(out, DimensionName(d));
      *out += ":[";
      for (size_t i = 0; i < g.size(); ++i) {
        if (i > 0) out->push_back(',');
        out->push_back('[');
        AppendJsonString(out, g[i].first);
        out->push_back(',');
        AppendJsonInt(out, g[i].second);
        out->push_back(']');
      }
      out->push_back(']');
    }
    out->push_back('}');
  }
  if (!r.points.empty()) {
    *out += ",\"points\":";
    AppendPairs(r.points, out);
  }
  out->push_back('}');
}

Status ParseReports(std::string_view json, std::vector<PartitionReport>* out) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(json.data(), json.size()).get(doc) != simdjson::SUCCESS) {
    return Bad("JSON");
  }
  simdjson::dom::array partitions;
  if (doc["partitions"].get_array().get(partitions) != simdjson::SUCCESS) return Bad("document");
  for (simdjson::dom::element e : partitions) {
    simdjson::dom::object o;
    if (e.get_object().get(o) != simdjson::SUCCESS) return Bad("partition entry");
    PartitionReport r;
    VP_RETURN_IF_ERROR(ParseReport(o, &r));
    out->push_back(std::move(r));
  }
  return Status::OK();
}

std::map<PartitionId, PartitionReport> NewestReports(std::vector<PartitionReport> reports) {
  std::map<PartitionId, PartitionReport> out;
  for (PartitionReport& r : reports) {
    auto it = out.find(r.partition);
    if (it == out.end()) {
      out.emplace(r.partition, std::move(r));
    } else if (r.next > it->second.next) {
      it->second = std::move(r);
    }
  }
  return out;
}

std::vector<PartitionId> MissingPartitions(const std::map<PartitionId, PartitionReport>& reports,
                                           int partitions) {
  std::vector<PartitionId> missing;
  for (PartitionId p = 0; p < partitions; ++p) {
    auto it = reports.find(p);
    if (it == reports.end() || (!it->second.has_time && !it->second.caught_up)) {
      missing.push_back(p);
    }
  }
  return missing;
}

MergedRange RangeOf(const std::map<PartitionId, PartitionReport>& reports) {
  MergedRange m;
  for (const auto& [p, r] : reports) {
    if (!r.has_time) continue;
    const int64_t running = std::max(r.as_of, r.watermark >= 0 ? r.watermark / 1000
                                                               : (r.watermark - 999) / 1000);
    if (!m.any_time) {
      m = {true, r.kept_begin, r.as_of, running};
      continue;
    }
    m.kept_begin = std::max(m.kept_begin, r.kept_begin);
    m.as_of = std::min(m.as_of, r.as_of);
    m.live_second = std::min(m.live_second, running);
  }
  return m;
}

Result<MergedCounts> SumCounts(const std::map<PartitionId, PartitionReport>& reports,
                               int64_t second, std::optional<Dimension> d) {
  MergedCounts m;
  m.second = second;
  std::unordered_map<std::string, int64_t> sums;
  for (const auto& [p, r] : reports) {
    if (!r.has_time) continue;  // no events: no viewers
    if (!r.has_counts || r.second != second) {
      return Status::InvalidArgument("partition " + std::to_string(p) +
                                     " has no counts for second " + std::to_string(second));
    }
    m.total += r.total;
    if (!d) continue;
    for (const auto& [key, v] : r.groups[Index(*d)]) sums[key] += v;
  }
  for (auto& [key, v] : sums) {
    if (v > 0) m.groups.emplace_back(key, v);
  }
  std::sort(m.groups.begin(), m.groups.end(), [](const auto& a, const auto& b) {
    if (a.second != b.second) return a.second > b.second;
    return a.first < b.first;
  });
  return m;
}

std::string PartitionList(const std::vector<PartitionId>& partitions) {
  std::string out;
  for (PartitionId p : partitions) {
    if (!out.empty()) out += ", ";
    out += std::to_string(p);
  }
  return out;
}

}  // namespace viewpipe::ops
