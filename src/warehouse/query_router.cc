#include "warehouse/query_router.h"

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>

#include "common/json_writer.h"
#include "lake/duck.h"
#include "lake/lake_schema.h"
#include "lake/parquet_writer.h"

namespace viewpipe {
namespace {

std::string TrimStatement(std::string sql) {
  auto junk = [](char c) { return c == ';' || c == ' ' || c == '\n' || c == '\t' || c == '\r'; };
  while (!sql.empty() && junk(sql.back())) sql.pop_back();
  size_t start = 0;
  while (start < sql.size() && junk(sql[start]) && sql[start] != ';') ++start;
  return sql.substr(start);
}

std::string HotPart(EventDate from) {
  return "SELECT " + LakeColumnNames() + ", event_date FROM vp.events WHERE event_date >= " +
         SqlQuote(from.ToString()) + "::DATE";
}

std::string ColdPart(const std::vector<LakeFileRef>& files) {
  if (files.empty()) {
    return "SELECT " + LakeColumnNames() + ", event_date FROM vp.events WHERE false";
  }
  std::vector<std::string> uris;
  uris.reserve(files.size());
  for (const LakeFileRef& f : files) uris.push_back(f.uri);
  return "SELECT " + LakeColumnNames() + ", CAST(event_date AS DATE) AS event_date FROM "
         "read_parquet(" + SqlStringList(uris) + ", hive_partitioning = true, "
         "hive_types = {'event_date': DATE, 'hour': INTEGER})";
}

}  // namespace

QueryRouter::QueryRouter(HotTier* hot, LakeReader* lake, Clock* clock, RouterOptions options,
                         QueryLedger* ledger)
    : hot_(hot), lake_(lake), clock_(clock), options_(options), ledger_(ledger) {}

Result<QueryAnswer> QueryRouter::Run(const QueryRequest& request) {
  const auto t0 = std::chrono::steady_clock::now();
  std::string sql = TrimStatement(request.sql);
  if (sql.empty()) return Status::InvalidArgument("empty query");
  auto conn_or = hot_->Connect();
  if (!conn_or.ok()) return conn_or.status();
  DuckConnection* conn = conn_or->get();
  // The user's SQL for a clear refusal; then the wrapped SQL, which is what
  // runs, so nothing but what passed the guard can execute.
  // (The wrapper's COLUMNS(*) is no column of events: the scan accounting
  // uses the user's shape; both give the same range.)
  auto shape = CheckQuery(conn, sql);
  if (!shape.ok()) return shape.status();
  std::string wrapped = "SELECT to_json(COLUMNS(*)) FROM (\n" + sql + "\n) AS vp_result LIMIT " +
                        std::to_string(options_.max_rows + 1);
  auto wrapped_shape = CheckQuery(conn, wrapped);
  if (!wrapped_shape.ok()) {
    return Status::InvalidArgument("query not allowed: " + wrapped_shape.status().message());
  }
  if (wrapped_shape->min_ms != shape->min_ms || wrapped_shape->max_ms != shape->max_ms) {
    return Status::InvalidArgument("query not allowed: it does not parse as one query");
  }

  const EventDate hot_start = hot_->WindowStart();
  const int64_t hot_ms = hot_start.StartMs();
  const bool empty = shape->min_ms > shape->max_ms;
  QueryAnswer answer;  // tier, range; the rest is filled by PlanAndExecute
  switch (request.tier) {
    case TierChoice::kHot:  // the hot tier's days only, whatever the range
      answer.tier = "hot";
      break;
    case TierChoice::kCold:
      answer.tier = "cold";
      break;
    case TierChoice::kAuto:
      answer.tier = (empty || shape->min_ms >= hot_ms) ? "hot"
                    : shape->max_ms < hot_ms           ? "cold"
                                                       : "both";
  }
  answer.range_min_ms = shape->min_ms;
  answer.range_max_ms = shape->max_ms;

  // A file the plan named may move between planning and reading (the
  // writer publishing a commit, compaction's garbage): plan again.
  std::vector<LakeFileRef> files;
  Status st;
  for (int attempt = 0; attempt < 6; ++attempt) {
    if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(50 << attempt));
    QueryAnswer fresh;
    fresh.tier = answer.tier;
    fresh.range_min_ms = answer.range_min_ms;
    fresh.range_max_ms = answer.range_max_ms;
    st = PlanAndExecute(conn, *shape, wrapped, hot_start, &fresh, &files);
    if (st.code() != Status::Code::kIOError) {
      answer = std::move(fresh);
      break;
    }
  }
  VP_RETURN_IF_ERROR(st);
  if (!files.empty()) {  // billed when the serverless engine read the lake
    answer.cost_usd = static_cast<double>(std::max(answer.bytes_cold, options_.min_billed_bytes)) *
                      options_.usd_per_tb / 1e12;
  }
  answer.elapsed_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::steady_clock::now() - t0)
                          .count();
  if (ledger_ != nullptr) {
    (void)ledger_->Record({clock_->NowMs(), answer.tier, answer.bytes_cold, answer.bytes_hot,
                           answer.cost_usd, answer.elapsed_ms});
  }
  return answer;
}

Status QueryRouter::PlanAndExecute(DuckConnection* conn, const QueryShape& shape,
                                   const std::string& sql, EventDate hot_start,
                                   QueryAnswer* answer, std::vector<LakeFileRef>* files_out) {
  const bool empty = shape.min_ms > shape.max_ms;
  const bool use_hot = answer->tier != "cold";
  const bool use_cold = answer->tier != "hot";
  std::vector<LakeFileRef>& files = *files_out;
  files.clear();
  if (use_cold && !empty) {
    LakeRange range{shape.min_ms, shape.max_ms,
                    answer->tier == "cold" ? EventDate{INT32_MAX} : hot_start};
    auto listed = lake_->Files(range);
    if (!listed.ok()) return listed.status();
    files = std::move(listed).value();
  }
  std::string view;
  if (use_hot) view = HotPart(hot_start);
  if (use_cold) view += (view.empty() ? "" : " UNION ALL ") + ColdPart(files);
  VP_RETURN_IF_ERROR(conn->Execute("CREATE OR REPLACE TEMP VIEW events AS " + view));

  // Bytes scanned.
  answer->files_scanned = files.size();
  std::set<int32_t> days;
  for (const LakeFileRef& f : files) days.insert(f.date.days);
  answer->days_scanned = days.size();
  if (!files.empty()) {
    auto cold = accountant_.ColdBytes(conn, files, shape);
    if (!cold.ok()) return cold.status();
    answer->bytes_cold = *cold;
  }
  if (use_hot && !empty) {
    auto per_day = hot_->RowsPerDay();
    if (!per_day.ok()) return per_day.status();
    int64_t rows = 0;
    for (const auto& [d, n] : *per_day) {
      if (d >= hot_start && d.EndMs() > shape.min_ms && d.StartMs() <= shape.max_ms) rows += n;
    }
    answer->bytes_hot = ScanAccountant::HotBytes(rows, shape);
  }
  return Execute(conn, sql, answer);
}

Status QueryRouter::Execute(DuckConnection* conn, const std::string& sql, QueryAnswer* answer) {
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  bool interrupted = false;
  std::thread watchdog([&] {
    std::unique_lock<std::mutex> lock(mu);
    if (!cv.wait_for(lock, std::chrono::milliseconds(options_.timeout_ms), [&] { return done; })) {
      interrupted = true;
      conn->Interrupt();
    }
  });
  auto res = conn->Query(sql);
  Status st = res.ok() ? Status::OK() : res.status();
  if (res.ok()) {
    size_t cols = res->columns();
    for (size_t i = 0; i < cols; ++i) answer->columns.push_back(res->ColumnName(i));
    st = res->ForEachChunk([&](const DuckChunk& c) {
      for (size_t r = 0; r < c.rows(); ++r) {
        if (answer->rows.size() >= options_.max_rows) {
          answer->truncated = true;
          return Status::OK();
        }
        std::string row = "[";
        for (size_t i = 0; i < cols; ++i) {
          if (i > 0) row += ',';
          std::string_view cell = c.IsNull(i, r) ? "null" : c.String(i, r);
          if (cell == "NaN" || cell == "Infinity" || cell == "-Infinity") cell = "null";
          row += cell;
        }
        row += ']';
        answer->rows.push_back(std::move(row));
      }
      return Status::OK();
    });
  }
  {
    std::lock_guard<std::mutex> lock(mu);
    done = true;
  }
  cv.notify_all();
  watchdog.join();
  if (!st.ok() && interrupted) {
    return Status::Aborted("query timed out after " + std::to_string(options_.timeout_ms) + " ms");
  }
  return st;
}

std::string QueryAnswer::ToJson() const {
  std::string out = "{\"columns\":[";
  for (size_t i = 0; i < columns.size(); ++i) {
    if (i > 0) out += ',';
    AppendJsonString(&out, columns[i]);
  }
  out += "],\"rows\":[";
  for (size_t i = 0; i < rows.size(); ++i) {
    if (i > 0) out += ',';
    out += rows[i];
  }
  out += "],\"tier\":";
  AppendJsonString(&out, tier);
  out += ",\"bytes_scanned\":";
  AppendJsonInt(&out, static_cast<int64_t>(bytes_scanned()));
  out += ",\"cost_usd\":";
  AppendJsonDouble(&out, cost_usd);
  out += ",\"elapsed_ms\":";
  AppendJsonInt(&out, elapsed_ms);
  out += ",\"bytes_scanned_cold\":";
  AppendJsonInt(&out, static_cast<int64_t>(bytes_cold));
  out += ",\"bytes_scanned_hot\":";
  AppendJsonInt(&out, static_cast<int64_t>(bytes_hot));
  out += ",\"files_scanned\":";
  AppendJsonInt(&out, static_cast<int64_t>(files_scanned));
  out += ",\"days_scanned\":";
  AppendJsonInt(&out, static_cast<int64_t>(days_scanned));
  out += ",\"truncated\":";
  out += truncated ? "true" : "false";
  out += "}";
  return out;
}

}  // namespace viewpipe
