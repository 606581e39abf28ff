#pragma once
// The DuckDB boundary: RAII handles over DuckDB's C API, with every DuckDB
// error turned into a Status here (STYLE.md rule 4). One DuckDatabase per
// component (the lake writer, the hot tier); connections are cheap and each
// thread uses its own.
//
// Thread safety: a DuckDatabase is thread safe; a DuckConnection is used by
// one thread at a time, except Interrupt(), which any thread may call.

#include <duckdb.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace viewpipe {

class DuckConnection;

// One chunk of a query result: typed reads of cell (col, row). Ints read
// any integer type (HUGEINT clamped to int64); strings read VARCHAR/BLOB.
class DuckChunk {
 public:
  explicit DuckChunk(duckdb_data_chunk chunk);
  size_t rows() const { return rows_; }
  bool IsNull(size_t col, size_t row) const;
  int64_t Int(size_t col, size_t row) const;
  double Double(size_t col, size_t row) const;
  std::string_view String(size_t col, size_t row) const;
  bool Bool(size_t col, size_t row) const;

 private:
  struct Column {
    duckdb_type type;
    void* data;
    uint64_t* validity;
  };
  size_t rows_ = 0;
  std::vector<Column> cols_;
};

// A materialized or streaming query result.
class DuckResult {
 public:
  DuckResult() = default;
  explicit DuckResult(duckdb_result r) : r_(r), valid_(true) {}
  ~DuckResult();
  DuckResult(DuckResult&& o) noexcept : r_(o.r_), valid_(std::exchange(o.valid_, false)) {}
  DuckResult& operator=(DuckResult&& o) noexcept;

  size_t columns();
  std::string ColumnName(size_t col);
  // Calls fn for every chunk in order; stops at the first non-OK status fn
  // returns, or at a fetch error.
  Status ForEachChunk(const std::function<Status(const DuckChunk&)>& fn);
  // Convenience for single-value results: cell (0, 0) as an int (0 when empty or NULL).
  Result<int64_t> ScalarInt();

 private:
  duckdb_result r_{};
  bool valid_ = false;
};

class DuckDatabase {
 public:
  // path empty: in-memory. config: DuckDB options set at open (e.g.
  // {"threads","2"}, {"access_mode","READ_ONLY"}).
  static Result<std::unique_ptr<DuckDatabase>> Open(
      const std::string& path, const std::vector<std::pair<std::string, std::string>>& config);
  ~DuckDatabase();
  DuckDatabase(const DuckDatabase&) = delete;
  DuckDatabase& operator=(const DuckDatabase&) = delete;

  Result<std::unique_ptr<DuckConnection>> Connect();
  const std::string& path() const { return path_; }

 private:
  DuckDatabase() = default;
  duckdb_database db_{};
  std::string path_;
};

class DuckConnection {
 public:
  ~DuckConnection();
  DuckConnection(const DuckConnection&) = delete;
  DuckConnection& operator=(const DuckConnection&) = delete;

  // Runs sql (one or more statements), discarding results.
  Status Execute(const std::string& sql);
  // Runs one statement and returns its materialized result.
  Result<DuckResult> Query(const std::string& sql);
  // Runs one statement with positional VARCHAR parameters ($1, $2, ...).
  Result<DuckResult> QueryParams(const std::string& sql, const std::vector<std::string>& params);
  // Aborts the statement running on this connection (from any thread).
  void Interrupt() { duckdb_interrupt(conn_); }
  duckdb_connection raw() { return conn_; }

 private:
  friend class DuckDatabase;
  explicit DuckConnection(duckdb_connection c) : conn_(c) {}
  duckdb_connection conn_{};
};

// Appends rows to one table through DuckDB's appender. Used by one thread.
class DuckAppender {
 public:
  static Result<std::unique_ptr<DuckAppender>> Create(DuckConnection* conn,
                                                      const std::string& schema,
                                                      const std::string& table);
  ~DuckAppender();
  void Null() { ok_ &= duckdb_append_null(a_) == DuckDBSuccess; }
  void Int64(int64_t v) { ok_ &= duckdb_append_int64(a_, v) == DuckDBSuccess; }
  void Int32(int32_t v) { ok_ &= duckdb_append_int32(a_, v) == DuckDBSuccess; }
  void Bool(bool v) { ok_ &= duckdb_append_bool(a_, v) == DuckDBSuccess; }
  void Date(int32_t days) { ok_ &= duckdb_append_date(a_, duckdb_date{days}) == DuckDBSuccess; }
  void String(std::string_view v) {
    ok_ &= duckdb_append_varchar_length(a_, v.data(), v.size()) == DuckDBSuccess;
  }
  // An empty view appends NULL.
  void StringOrNull(std::string_view v) { v.empty() ? Null() : String(v); }
  Status EndRow();
  // Hands the appended rows to the table (inside the connection's open
  // transaction, if any).
  Status Flush();

 private:
  explicit DuckAppender(duckdb_appender a) : a_(a) {}
  Status Error(const char* what);
  duckdb_appender a_{};
  bool ok_ = true;
};

// Quotes s as a SQL string literal ('it''s').
std::string SqlQuote(std::string_view s);

}  // namespace viewpipe
