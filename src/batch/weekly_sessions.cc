#include "batch/weekly_sessions.h"

#include "batch/batch_sql.h"

namespace viewpipe::batch {
namespace {

// day_sessions: every daily row with its day's index in days.
Status LoadDayRows(DuckConnection* conn, const std::vector<WeekDay>& days) {
  std::string sql = "CREATE TABLE day_sessions AS ";
  for (size_t i = 0; i < days.size(); ++i) {
    if (i > 0) sql += " UNION ALL ";
    sql += "SELECT " + std::to_string(i) + " AS day, " + WeeklySessionColumns() + " FROM " +
           ReadParquetSql({days[i].sessions_uri});
  }
  return conn->Execute(sql);
}

Result<int64_t> Scalar(DuckConnection* conn, const std::string& sql) {
  auto r = conn->Query(sql);
  if (!r.ok()) return r.status();
  return r->ScalarInt();
}

// redo: SessionsSql over the raw events of the multi-day sessions.
Result<int64_t> RederiveMultiDay(DuckConnection* conn, const std::vector<WeekDay>& days) {
  std::vector<std::string> uris;
  int64_t read = 0;
  for (size_t i = 0; i < days.size(); ++i) {
    auto n = Scalar(conn, "SELECT count(*) FROM day_sessions SEMI JOIN multi_day "
                          "USING (session_id) WHERE day = " + std::to_string(i));
    if (!n.ok()) return n.status();
    if (*n == 0) continue;
    ++read;
    uris.insert(uris.end(), days[i].event_uris.begin(), days[i].event_uris.end());
  }
  std::string source = "(SELECT * FROM " + ReadParquetSql(uris) +
                       " WHERE session_id IN (SELECT session_id FROM multi_day))";
  VP_RETURN_IF_ERROR(conn->Execute("CREATE TABLE redo AS " + SessionsSql(source)));
  return read;
}

}  // namespace

Result<WeeklySessionStats> BuildWeeklySessions(DuckConnection* conn,
                                               const std::vector<WeekDay>& days) {
  WeeklySessionStats stats;
  const std::string cols = WeeklySessionColumns();
  if (days.empty()) return Status::InvalidArgument("a week without days");
  VP_RETURN_IF_ERROR(LoadDayRows(conn, days));
  VP_RETURN_IF_ERROR(conn->Execute(
      "CREATE TABLE multi_day AS SELECT session_id FROM day_sessions "
      "GROUP BY session_id HAVING count(*) > 1"));
  auto rows = Scalar(conn, "SELECT count(*) FROM day_sessions");
  auto multi = Scalar(conn, "SELECT count(*) FROM multi_day");
  if (!rows.ok()) return rows.status();
  if (!multi.ok()) return multi.status();
  stats.day_rows = *rows;
  stats.multi_day = *multi;
  if (*multi == 0) {
    VP_RETURN_IF_ERROR(
        conn->Execute("CREATE TABLE sessions AS SELECT " + cols + " FROM day_sessions"));
  } else {
    auto read = RederiveMultiDay(conn, days);
    if (!read.ok()) return read.status();
    stats.raw_days_read = *read;
    VP_RETURN_IF_ERROR(conn->Execute(
        "CREATE TABLE sessions AS SELECT " + cols + " FROM day_sessions "
        "ANTI JOIN multi_day USING (session_id) UNION ALL SELECT " + cols + " FROM redo"));
  }
  VP_RETURN_IF_ERROR(conn->Execute("DROP TABLE day_sessions"));
  return stats;
}

}  // namespace viewpipe::batch
