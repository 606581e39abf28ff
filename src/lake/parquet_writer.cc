#include "lake/parquet_writer.h"

#include <filesystem>
#include <map>

#include "lake/lake_schema.h"

namespace viewpipe {
namespace fs = std::filesystem;

std::string SqlStringList(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += ", ";
    out += SqlQuote(items[i]);
  }
  out += "]";
  return out;
}

Result<std::unique_ptr<ParquetWriter>> ParquetWriter::Open(const ParquetWriterOptions& options) {
  std::unique_ptr<ParquetWriter> w(new ParquetWriter());
  w->options_ = options;
  // Scratch belongs to this writer (the lake's lock is held): what a killed
  // writer left there is garbage.
  std::error_code ec;
  fs::remove_all(options.scratch_dir, ec);
  fs::create_directories(options.scratch_dir, ec);
  if (ec) return Status::IOError("cannot create " + options.scratch_dir + ": " + ec.message());
  // DuckDB spills to temp_directory (default: ./.tmp of the process).
  std::string spill = (fs::path(options.scratch_dir) / "duckdb-tmp").string();
  auto db = DuckDatabase::Open("", {{"threads", std::to_string(options.threads)},
                                    {"memory_limit", options.memory_limit},
                                    {"temp_directory", spill},
                                    {"preserve_insertion_order", "true"},
                                    {"autoinstall_known_extensions", "false"},
                                    {"autoload_known_extensions", "false"}});
  if (!db.ok()) return db.status();
  w->db_ = std::move(db).value();
  auto conn = w->db_->Connect();
  if (!conn.ok()) return conn.status();
  w->conn_ = std::move(conn).value();
  VP_RETURN_IF_ERROR(w->ResetBuffer());
  return w;
}

Status ParquetWriter::ResetBuffer() {
  appender_.reset();
  VP_RETURN_IF_ERROR(conn_->Execute("DROP TABLE IF EXISTS buf; CREATE TABLE buf (" +
                                    LakeStagingColumnsDdl() +
                                    ", event_date DATE, hour VARCHAR)"));
  auto a = DuckAppender::Create(conn_.get(), "", "buf");
  if (!a.ok()) return a.status();
  appender_ = std::move(a).value();
  rows_ = 0;
  return Status::OK();
}

Status ParquetWriter::Append(const EventView& e, EventDate date, int hour) {
  AppendEventColumns(e, appender_.get());
  appender_->Date(date.days);
  char hh[3] = {static_cast<char>('0' + hour / 10), static_cast<char>('0' + hour % 10), 0};
  appender_->String(std::string_view(hh, 2));
  VP_RETURN_IF_ERROR(appender_->EndRow());
  ++rows_;
  return Status::OK();
}

Status ParquetWriter::Discard() { return ResetBuffer(); }

std::string ParquetWriter::CopyOptions(int64_t row_group_rows) const {
  return "FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL " +
         std::to_string(options_.zstd_level) + ", ROW_GROUP_SIZE " +
         std::to_string(row_group_rows) + ", KV_METADATA {viewpipe_schema_version: '" +
         std::to_string(kLakeSchemaVersion) + "'}";
}

Result<std::vector<WrittenFile>> ParquetWriter::Flush(const std::string& name) {
  if (rows_ == 0) return std::vector<WrittenFile>{};
  std::string dir = (fs::path(options_.scratch_dir) / name).string();
  RemoveScratch(name);
  Status st = appender_->Flush();
  if (st.ok()) {
    st = conn_->Execute("COPY (SELECT " + LakeSelectFromStaging() +
                        ", event_date, hour FROM buf ORDER BY event_date, hour, session_id, ts) "
                        "TO " + SqlQuote(dir) + " (" + CopyOptions(options_.row_group_rows) +
                        ", PARTITION_BY (event_date, hour), FILENAME_PATTERN " +
                        SqlQuote(name + "-{i}") + ")");
  }
  Status reset = ResetBuffer();
  VP_RETURN_IF_ERROR(st);
  VP_RETURN_IF_ERROR(reset);
  return Collect(dir);
}

Result<std::vector<WrittenFile>> ParquetWriter::Rewrite(const std::vector<std::string>& uris,
                                                        EventDate date, int hour,
                                                        const std::string& name,
                                                        int64_t row_group_rows,
                                                        uint64_t target_file_bytes) {
  std::string dir = (fs::path(options_.scratch_dir) / name).string();
  RemoveScratch(name);
  char sub[48];
  std::snprintf(sub, sizeof(sub), "event_date=%s/hour=%02d", date.ToString().c_str(), hour);
  std::string out_dir = (fs::path(dir) / sub).string();
  std::error_code ec;
  fs::create_directories(out_dir, ec);
  if (ec) return Status::IOError("cannot create " + out_dir + ": " + ec.message());
  VP_RETURN_IF_ERROR(conn_->Execute(
      "COPY (SELECT " + LakeColumnNames() + " FROM read_parquet(" + SqlStringList(uris) +
      ") ORDER BY session_id, ts) TO " + SqlQuote(out_dir) + " (" + CopyOptions(row_group_rows) +
      ", FILE_SIZE_BYTES " + std::to_string(target_file_bytes) + ", FILENAME_PATTERN " +
      SqlQuote(name + "-{i}") + ")"));
  return Collect(dir);
}

Result<std::vector<WrittenFile>> ParquetWriter::Collect(const std::string& dir) {
  std::map<std::string, WrittenFile> files;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    if (!it->is_regular_file() || it->path().extension() != ".parquet") continue;
    WrittenFile f;
    f.local_path = it->path().string();
    f.bytes = it->file_size();
    std::string hour_dir = it->path().parent_path().filename().string();     // hour=HH
    std::string date_dir = it->path().parent_path().parent_path().filename().string();
    auto date = EventDate::Parse(date_dir.substr(date_dir.find('=') + 1));
    if (!date || hour_dir.rfind("hour=", 0) != 0) {
      return Status::IOError("unexpected scratch file " + f.local_path);
    }
    f.date = *date;
    f.hour = std::stoi(hour_dir.substr(5));
    files[f.local_path] = f;
  }
  if (ec) return Status::IOError("cannot list " + dir + ": " + ec.message());
  if (files.empty()) return std::vector<WrittenFile>{};
  std::vector<std::string> paths;
  for (const auto& [path, f] : files) paths.push_back(path);
  auto res = conn_->Query(
      "SELECT file_name, sum(num_values), min(CAST(stats_min_value AS BIGINT)), "
      "max(CAST(stats_max_value AS BIGINT)) FROM parquet_metadata(" + SqlStringList(paths) +
      ") WHERE path_in_schema = 'ts' GROUP BY file_name");
  if (!res.ok()) return res.status();
  VP_RETURN_IF_ERROR(res->ForEachChunk([&](const DuckChunk& c) {
    for (size_t r = 0; r < c.rows(); ++r) {
      auto it = files.find(std::string(c.String(0, r)));
      if (it == files.end()) continue;
      it->second.rows = c.Int(1, r);
      it->second.min_ts = c.Int(2, r);
      it->second.max_ts = c.Int(3, r);
    }
    return Status::OK();
  }));
  std::vector<WrittenFile> out;
  for (auto& [path, f] : files) out.push_back(std::move(f));
  return out;
}

Status ParquetWriter::ReadEventIds(const std::vector<std::string>& uris,
                                   const std::function<void(std::string_view)>& fn) {
  if (uris.empty()) return Status::OK();
  auto res = conn_->Query("SELECT event_id FROM read_parquet(" + SqlStringList(uris) + ")");
  if (!res.ok()) return res.status();
  return res->ForEachChunk([&](const DuckChunk& c) {
    for (size_t r = 0; r < c.rows(); ++r) fn(c.String(0, r));
    return Status::OK();
  });
}

void ParquetWriter::RemoveScratch(const std::string& name) {
  std::error_code ec;
  fs::remove_all(fs::path(options_.scratch_dir) / name, ec);
}

}  // namespace viewpipe
