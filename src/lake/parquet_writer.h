#pragma once
// ParquetWriter: turns events into the lake's Parquet files through DuckDB
// (ZSTD, schema of lake_schema.h). Events are buffered in an in-memory
// DuckDB table; Flush writes one file per (event_date, hour) into a scratch
// directory with COPY ... PARTITION_BY, rows sorted by (session_id, ts) so
// the per-session columns compress to runs. Rewrite merges files for
// compaction. The files it returns are local scratch files: the caller
// uploads them into the ObjectStore and removes the scratch directory.
//
// Thread compatible: one DuckDB database (in memory) per writer.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "event/event.h"
#include "lake/duck.h"
#include "lake/lake_time.h"

namespace viewpipe {

struct ParquetWriterOptions {
  std::string scratch_dir;           // emptied at Open: owned by this writer
  int zstd_level = 9;                // COMPRESSION_LEVEL of ZSTD
  int64_t row_group_rows = 122880;   // row groups of flushed files
  std::string memory_limit = "1GB";  // of the writer's DuckDB
  int threads = 1;
};

struct WrittenFile {
  std::string local_path;
  EventDate date;
  int hour = 0;
  int64_t rows = 0;
  int64_t min_ts = 0;
  int64_t max_ts = 0;
  uint64_t bytes = 0;
};

class ParquetWriter {
 public:
  static Result<std::unique_ptr<ParquetWriter>> Open(const ParquetWriterOptions& options);

  // Buffers e for partition (date, hour).
  Status Append(const EventView& e, EventDate date, int hour);
  int64_t rows() const { return rows_; }
  // Writes the buffered rows under scratch_dir/<name>/ and empties the
  // buffer (also when it fails). File names: <name>-<i>.parquet.
  Result<std::vector<WrittenFile>> Flush(const std::string& name);
  // Drops the buffered rows.
  Status Discard();
  // Merges the files at uris (all of one hour) into files of at most
  // target_file_bytes with row groups of row_group_rows rows, sorted by
  // (session_id, ts), under scratch_dir/<name>/.
  Result<std::vector<WrittenFile>> Rewrite(const std::vector<std::string>& uris, EventDate date,
                                           int hour, const std::string& name,
                                           int64_t row_group_rows, uint64_t target_file_bytes);
  // Calls fn with every event_id stored in the files at uris.
  Status ReadEventIds(const std::vector<std::string>& uris,
                      const std::function<void(std::string_view)>& fn);
  // Removes scratch_dir/<name>/.
  void RemoveScratch(const std::string& name);
  DuckConnection* connection() { return conn_.get(); }

 private:
  ParquetWriter() = default;
  Status ResetBuffer();
  // Stats of the files just written under dir.
  Result<std::vector<WrittenFile>> Collect(const std::string& dir);
  std::string CopyOptions(int64_t row_group_rows) const;

  ParquetWriterOptions options_;
  std::unique_ptr<DuckDatabase> db_;
  std::unique_ptr<DuckConnection> conn_;
  std::unique_ptr<DuckAppender> appender_;
  int64_t rows_ = 0;
};

// "[ 'a', 'b' ]": a SQL list of string literals.
std::string SqlStringList(const std::vector<std::string>& items);

}  // namespace viewpipe
