#include "features/feature_table.h"

#include <cstdio>
#include <filesystem>

#include "lake/duck.h"

namespace viewpipe::features {
namespace {

std::optional<std::string> Int(int64_t v) { return std::to_string(v); }
std::optional<std::string> OptInt(const std::optional<int64_t>& v) {
  return v ? Int(*v) : std::nullopt;
}
std::optional<std::string> Double(double v) {
  char b[40];
  std::snprintf(b, sizeof(b), "%.17g", v);
  return std::string(b);
}

}  // namespace

std::vector<FeatureColumn> ProfileColumns(const std::string& p) {
  return {{p + "as_of", "BIGINT"},
          {p + "last_active_ms", "BIGINT"},
          {p + "recent_titles", "VARCHAR"},
          {p + "watch_seconds_7d", "VARCHAR"},
          {p + "watch_seconds_30d", "VARCHAR"},
          {p + "titles_completed_30d", "BIGINT"},
          {p + "sessions_7d", "BIGINT"},
          {p + "preferred_device", "VARCHAR"}};
}

FeatureCells ProfileCells(const ProfileFeatures& f) {
  return {Int(f.as_of),
          OptInt(f.last_active_ms),
          RecentTitlesJson(f.recent_titles),
          GenreSecondsJson(f.watch_seconds_7d),
          GenreSecondsJson(f.watch_seconds_30d),
          Int(f.titles_completed_30d),
          Int(f.sessions_7d),
          f.preferred_device};
}

std::vector<FeatureColumn> TitleColumns(const std::string& p) {
  return {{p + "as_of", "BIGINT"},          {p + "concurrent_viewers", "BIGINT"},
          {p + "plays_1h", "BIGINT"},       {p + "plays_24h", "BIGINT"},
          {p + "trending_score", "DOUBLE"}, {p + "avg_completion", "DOUBLE"}};
}

FeatureCells TitleCells(const TitleFeatures& f) {
  return {Int(f.as_of),
          Int(f.concurrent_viewers),
          Int(f.plays_1h),
          Int(f.plays_24h),
          Double(f.trending_score),
          f.avg_completion ? Double(*f.avg_completion) : std::nullopt};
}

FeatureTable::~FeatureTable() {
  appender_.reset();
  conn_.reset();
  db_.reset();
}

Result<std::unique_ptr<FeatureTable>> FeatureTable::Create(std::vector<FeatureColumn> columns) {
  std::unique_ptr<FeatureTable> t(new FeatureTable());
  t->columns_ = std::move(columns);
  auto db = DuckDatabase::Open("", {{"threads", "2"}});
  if (!db.ok()) return db.status();
  t->db_ = std::move(db).value();
  auto conn = t->db_->Connect();
  if (!conn.ok()) return conn.status();
  t->conn_ = std::move(conn).value();
  std::string ddl = "CREATE TABLE rows (";
  for (size_t i = 0; i < t->columns_.size(); ++i) {
    ddl += (i ? ", " : "") + ("\"" + t->columns_[i].name + "\" VARCHAR");
  }
  VP_RETURN_IF_ERROR(t->conn_->Execute(ddl + ")"));
  auto app = DuckAppender::Create(t->conn_.get(), "main", "rows");
  if (!app.ok()) return app.status();
  t->appender_ = std::move(app).value();
  return t;
}

Status FeatureTable::AddRow(const FeatureCells& cells) {
  VP_CHECK(cells.size() == columns_.size(), "a row needs one cell per column");
  for (const auto& c : cells) {
    if (c) {
      appender_->String(*c);
    } else {
      appender_->Null();
    }
  }
  ++rows_;
  return appender_->EndRow();
}

Status FeatureTable::WriteParquet(const std::string& path) {
  VP_RETURN_IF_ERROR(appender_->Flush());
  std::string select;
  for (size_t i = 0; i < columns_.size(); ++i) {
    const std::string q = "\"" + columns_[i].name + "\"";
    select += (i ? ", " : "") + ("CAST(" + q + " AS " + columns_[i].type + ") AS " + q);
  }
  const std::string tmp = path + ".tmp";
  VP_RETURN_IF_ERROR(conn_->Execute("COPY (SELECT " + select + " FROM rows ORDER BY rowid) TO " +
                                    SqlQuote(tmp) + " (FORMAT parquet, COMPRESSION zstd)"));
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) return Status::IOError("rename " + tmp + ": " + ec.message());
  return Status::OK();
}

}  // namespace viewpipe::features
