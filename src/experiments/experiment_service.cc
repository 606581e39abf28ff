#include "experiments/experiment_service.h"

#include <algorithm>
#include <chrono>

#include "common/json_writer.h"
#include "lake/lake_schema.h"
#include "lake/parquet_writer.h"
#include "warehouse/session_summary.h"

namespace viewpipe::experiments {
namespace {

std::string HotRelation(EventDate from) {
  return "SELECT " + LakeColumnNames() + " FROM vp.events WHERE event_date >= " +
         SqlQuote(from.ToString()) + "::DATE";
}

std::string ColdRelation(const std::vector<LakeFileRef>& files) {
  std::vector<std::string> uris;
  for (const LakeFileRef& f : files) uris.push_back(f.uri);
  return "SELECT " + LakeColumnNames() + " FROM read_parquet(" + SqlStringList(uris) +
         ", hive_partitioning = true, hive_types = {'event_date': DATE, 'hour': INTEGER})";
}

std::string Day(int64_t ms) { return EventDate::OfMs(ms).ToString(); }

// One read transaction for all statements of a report: the crossing
// sessions found first and the report's statement see the same snapshot
// of the summary while the consumer keeps appending (a session growing
// past `to` in between would otherwise be in neither part).
class Snapshot {
 public:
  explicit Snapshot(DuckConnection* conn) : conn_(conn) {
    open_ = conn_->Execute("BEGIN TRANSACTION").ok();
  }
  ~Snapshot() {
    if (open_) (void)conn_->Execute("COMMIT");
  }
  Snapshot(const Snapshot&) = delete;
  Snapshot& operator=(const Snapshot&) = delete;

 private:
  DuckConnection* conn_;
  bool open_ = false;
};

}  // namespace

Result<ExperimentWindow> ExperimentService::Window(const ReportRequest& r) const {
  const int64_t hot_start = hot_->WindowStart().StartMs();
  ExperimentWindow w;
  w.exp_id = r.exp_id;
  w.from_ms = r.from_ms.value_or(hot_start);
  w.to_ms = r.to_ms.value_or(clock_->NowMs());
  if (w.from_ms > w.to_ms) {
    return Status::InvalidArgument("from (" + std::to_string(w.from_ms) + ") is after to (" +
                                   std::to_string(w.to_ms) + ")");
  }
  if (r.tier == ReportTier::kHot && w.from_ms < hot_start) {
    return Status::InvalidArgument(
        "from " + std::to_string(w.from_ms) + " is before the hot window, which starts at " +
        std::to_string(hot_start) + " (" + Day(hot_start) + "); add tier=cold to read the lake");
  }
  if (r.tier == ReportTier::kCold && lake_ == nullptr) {
    return Status::InvalidArgument("tier=cold: no lake here");
  }
  return w;
}

Result<ExperimentService::Source> ExperimentService::Plan(ReportTier tier, int64_t min_ms,
                                                          int64_t max_ms) {
  const EventDate hot_start = hot_->WindowStart();
  Source s;
  if (tier == ReportTier::kCold) {
    auto files = lake_->Files(LakeRange{min_ms, max_ms, EventDate{INT32_MAX}});
    if (!files.ok()) return files.status();
    s.tier = s.pre_period = "cold";
    s.relation = files->empty() ? HotRelation(EventDate{INT32_MAX}) : ColdRelation(*files);
    return s;
  }
  s.tier = "hot";
  s.relation = HotRelation(hot_start);
  s.pre_period = "hot";
  if (min_ms >= hot_start.StartMs()) return s;
  if (lake_ == nullptr) {
    s.pre_period = "hot (nothing before " + hot_start.ToString() + ": no lake)";
    return s;
  }
  auto files = lake_->Files(LakeRange{min_ms, max_ms, hot_start});
  if (!files.ok()) return files.status();
  if (!files->empty()) {
    s.relation += " UNION ALL " + ColdRelation(*files);
    s.pre_period = "hot+lake (days before " + hot_start.ToString() + " from the lake)";
  }
  return s;
}

Status ExperimentService::CheckKnown(DuckConnection* conn, const Source& src,
                                     const std::string& exp_id) {
  auto res = conn->Query("SELECT count(*) FROM (SELECT 1 FROM (" + src.relation +
                         ") src WHERE map_contains(experiments, " + SqlQuote(exp_id) +
                         ") LIMIT 1)");
  if (!res.ok()) return res.status();
  auto n = res->ScalarInt();
  if (!n.ok()) return n.status();
  if (*n == 0) return Status::NotFound("unknown experiment '" + exp_id + "'");
  return Status::OK();
}

Result<std::string> ExperimentService::Sessions(DuckConnection* conn, const ReportRequest& request,
                                                const ExperimentWindow& w, const Source& src,
                                                std::string* source) {
  *source = "events";
  if (request.tier != ReportTier::kHot || request.from_events) {
    return SessionsFromEvents(src.relation, w);
  }
  auto meta = conn->Query(SessionSummaryCoverageSql());
  if (!meta.ok()) return SessionsFromEvents(src.relation, w);  // an older read-only database
  auto covers = meta->ScalarInt();
  if (!covers.ok()) return covers.status();
  const int64_t lo = w.from_ms - kPrePeriodMs;
  if (lo < *covers && lake_ != nullptr) {  // lake days the summary never saw
    auto files = lake_->Files(LakeRange{lo, *covers - 1, EventDate{INT32_MAX}});
    if (!files.ok()) return files.status();
    if (!files->empty()) return SessionsFromEvents(src.relation, w);
  }
  // The sessions crossing a boundary of the range are computed from their
  // events, read from the time range they span (pruned by ts).
  const auto kinds = CrossingSessionConditions(w);
  std::string spans;
  for (const auto& [name, cond] : kinds) {
    spans += (spans.empty() ? "" : ", ") + ("count(*) FILTER (WHERE " + cond + "), min(t0) FILTER (WHERE " +
             cond + "), max(t1) FILTER (WHERE " + cond + ")");
  }
  auto res = conn->Query("SELECT " + spans + " FROM vp.sessions");
  if (!res.ok()) return res.status();
  std::string events;
  VP_RETURN_IF_ERROR(res->ForEachChunk([&](const DuckChunk& c) {
    for (size_t k = 0; k < kinds.size() && c.rows() > 0; ++k) {
      if (c.Int(3 * k, 0) == 0) continue;
      const int64_t a = std::max(lo, c.Int(3 * k + 1, 0)), b = std::min(w.to_ms, c.Int(3 * k + 2, 0));
      auto part = Plan(ReportTier::kHot, a, b);
      if (!part.ok()) return part.status();
      events += (events.empty() ? "" : " UNION ALL ") + ("SELECT * FROM (" + part->relation +
                ") c WHERE ts >= " + std::to_string(a) + " AND ts <= " + std::to_string(b) +
                " AND session_id IN (SELECT session_id FROM vp.sessions WHERE " + kinds[k].second +
                ")");
    }
    return Status::OK();
  }));
  *source = "sessions";
  return SessionsFromSummary(w, events);
}

Result<ExperimentReport> ExperimentService::Report(const ReportRequest& request) {
  const auto t0 = std::chrono::steady_clock::now();
  auto w = Window(request);
  if (!w.ok()) return w.status();
  auto src = Plan(request.tier, w->from_ms - kPrePeriodMs, w->to_ms);
  if (!src.ok()) return src.status();
  auto conn = hot_->Connect();
  if (!conn.ok()) return conn.status();
  Snapshot snapshot(conn->get());
  VP_RETURN_IF_ERROR(CheckKnown(conn->get(), *src, w->exp_id));
  std::string source;
  auto sessions = Sessions(conn->get(), request, *w, *src, &source);
  if (!sessions.ok()) return sessions.status();
  auto sample = QuerySampleFromSessions(conn->get(), *sessions, *w);
  if (!sample.ok()) return sample.status();
  auto report = Analyze(*sample, *w, request.options);
  if (!report.ok()) return report.status();
  report->tier = src->tier;
  report->pre_period = src->pre_period;
  report->source = source;
  report->elapsed_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::steady_clock::now() - t0)
                           .count();
  return report;
}

Result<std::string> ExperimentService::UsersCsv(const ReportRequest& request) {
  auto w = Window(request);
  if (!w.ok()) return w.status();
  auto src = Plan(request.tier, w->from_ms - kPrePeriodMs, w->to_ms);
  if (!src.ok()) return src.status();
  auto conn = hot_->Connect();
  if (!conn.ok()) return conn.status();
  Snapshot snapshot(conn->get());
  VP_RETURN_IF_ERROR(CheckKnown(conn->get(), *src, w->exp_id));
  std::string source;
  auto sessions = Sessions(conn->get(), request, *w, *src, &source);
  if (!sessions.ok()) return sessions.status();
  auto res = (*conn)->Query("SELECT COLUMNS(*)::VARCHAR FROM (" +
                            PerUserSqlFromSessions(*sessions, *w) + ") u");
  if (!res.ok()) return res.status();
  std::string out;
  const size_t cols = res->columns();
  for (size_t i = 0; i < cols; ++i) out += (i ? "," : "") + res->ColumnName(i);
  out += '\n';
  VP_RETURN_IF_ERROR(res->ForEachChunk([&](const DuckChunk& c) {
    for (size_t r = 0; r < c.rows(); ++r) {
      for (size_t i = 0; i < cols; ++i) {
        if (i > 0) out += ',';
        if (!c.IsNull(i, r)) out += c.String(i, r);
      }
      out += '\n';
    }
    return Status::OK();
  }));
  return out;
}

Result<std::string> ExperimentService::ListJson() {
  auto src = Plan(ReportTier::kHot, hot_->WindowStart().StartMs(), INT64_MAX);
  if (!src.ok()) return src.status();
  auto conn = hot_->Connect();
  if (!conn.ok()) return conn.status();
  auto list = ListExperiments(conn->get(), src->relation);
  if (!list.ok()) return list.status();
  std::string out = "{\"tier\":\"hot\",\"experiments\":[";
  for (size_t i = 0; i < list->size(); ++i) {
    const ExperimentInfo& e = (*list)[i];
    out += i ? ",{\"id\":" : "{\"id\":";
    AppendJsonString(&out, e.id);
    out += ",\"variants\":[";
    for (size_t v = 0; v < e.variants.size(); ++v) {
      if (v > 0) out += ',';
      AppendJsonString(&out, e.variants[v]);
    }
    out += "],\"assignments\":" + std::to_string(e.profiles) +
           ",\"first_ts\":" + std::to_string(e.first_ms) +
           ",\"last_ts\":" + std::to_string(e.last_ms) + "}";
  }
  return out + "]}";
}

}  // namespace viewpipe::experiments
