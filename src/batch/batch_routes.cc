#include "batch/batch_routes.h"

#include <httplib.h>

#include <charconv>

#include "api/json_error.h"
#include "common/json_writer.h"
#include "lake/duck.h"

namespace viewpipe::batch {
namespace {

constexpr char kWeeklyRoot[] = "aggregates/weekly_title_stats/week=";

size_t LimitParam(const httplib::Request& req, size_t fallback) {
  if (!req.has_param("limit")) return fallback;
  std::string v = req.get_param_value("limit");
  size_t n = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  return ec == std::errc() && p == v.data() + v.size() && n > 0 ? std::min<size_t>(n, 10000)
                                                               : fallback;
}

Result<std::string> RowsJson(ObjectStore* store, const std::string& prefix,
                             const OutputManifest& m, size_t limit) {
  std::string list;
  for (const ManifestFile& f : m.files) {
    list += (list.empty() ? "" : ", ") + SqlQuote(store->ReadUri(prefix + f.name));
  }
  auto db = DuckDatabase::Open("", {{"threads", "1"}});
  if (!db.ok()) return db.status();
  auto conn = (*db)->Connect();
  if (!conn.ok()) return conn.status();
  auto r = (*conn)->Query(
      "SELECT to_json(t)::VARCHAR FROM (SELECT * EXCLUDE (rn) FROM (SELECT *, row_number() OVER "
      "(PARTITION BY dimension ORDER BY watch_time_ms DESC, \"key\") AS rn FROM read_parquet([" +
      list + "])) WHERE rn <= " + std::to_string(limit) +
      " ORDER BY dimension, watch_time_ms DESC, \"key\") t");
  if (!r.ok()) return r.status();
  std::string rows;
  Status st = r->ForEachChunk([&](const DuckChunk& chunk) {
    for (size_t i = 0; i < chunk.rows(); ++i) {
      if (!rows.empty()) rows.push_back(',');
      rows += chunk.String(0, i);
    }
    return Status::OK();
  });
  if (!st.ok()) return st;
  return rows;
}

}  // namespace

Result<std::vector<IsoWeek>> CommittedWeeks(ObjectStore* store) {
  auto listed = store->List(kWeeklyRoot);
  if (!listed.ok()) return listed.status();
  std::vector<IsoWeek> weeks;
  const std::string root = kWeeklyRoot;
  for (const ObjectInfo& o : *listed) {
    if (o.key.size() < root.size() + 8 || o.key.compare(o.key.size() - 9, 9, "/_SUCCESS") != 0) {
      continue;
    }
    auto w = IsoWeek::Parse(std::string_view(o.key).substr(root.size(), 8));
    if (w) weeks.push_back(*w);
  }
  std::sort(weeks.begin(), weeks.end());
  return weeks;
}

Result<std::string> WeeklyStatsJson(ObjectStore* store, std::optional<IsoWeek> week,
                                    size_t limit) {
  auto weeks = CommittedWeeks(store);
  if (!weeks.ok()) return weeks.status();
  if (!week) {
    if (weeks->empty()) return Status::NotFound("no weekly output yet");
    week = weeks->back();
  }
  auto m = ReadOutputManifest(store, WeeklyPrefix(*week));
  if (!m.ok()) return m.status();
  auto rows = RowsJson(store, WeeklyPrefix(*week), *m, limit);
  if (!rows.ok()) return rows.status();
  std::string out = "{\"week\":";
  AppendJsonString(&out, week->ToString());
  out += ",\"weeks\":[";
  for (size_t i = 0; i < weeks->size(); ++i) {
    if (i) out.push_back(',');
    AppendJsonString(&out, (*weeks)[i].ToString());
  }
  out += std::string("],\"provisional\":") + (m->provisional ? "true" : "false");
  out += ",\"inputs\":{";
  bool first = true;
  for (const auto& [k, v] : m->inputs) {
    if (!first) out.push_back(',');
    first = false;
    AppendJsonString(&out, k);
    out.push_back(':');
    AppendJsonInt(&out, v);
  }
  out += "},\"rows\":[" + *rows + "]}";
  return out;
}

void RegisterBatchRoutes(httplib::Server* server, BatchRunner* runner, ObjectStore* store) {
  server->Get("/v1/batch/runs", [runner](const httplib::Request& req, httplib::Response& res) {
    auto json = runner->RunsJson(LimitParam(req, 200));
    if (!json.ok()) return SendJsonError(res, 500, json.status().ToString());
    res.set_content(*json, "application/json");
  });
  server->Get("/v1/batch/weekly", [store](const httplib::Request& req, httplib::Response& res) {
    std::optional<IsoWeek> week;
    if (req.has_param("week")) {
      week = IsoWeek::Parse(req.get_param_value("week"));
      if (!week) return SendJsonError(res, 400, "week: expected YYYY-Www (ISO week)");
    }
    auto json = WeeklyStatsJson(store, week, LimitParam(req, 100));
    if (!json.ok()) {
      int code = json.status().IsNotFound() ? 404 : 500;
      return SendJsonError(res, code, json.status().ToString());
    }
    res.set_content(*json, "application/json");
  });
}

}  // namespace viewpipe::batch
