#include "lake/duck.h"

#include <algorithm>
#include <cstring>
#include <limits>

namespace viewpipe {
namespace {

// DuckDB's error classes mapped onto ours: what the caller got wrong is
// InvalidArgument, an interrupted statement Aborted, storage trouble IOError.
Status FromDuckError(duckdb_error_type type, std::string_view msg) {
  switch (type) {
    case DUCKDB_ERROR_IO:
    case DUCKDB_ERROR_FATAL:
    case DUCKDB_ERROR_INTERNAL:
    case DUCKDB_ERROR_SERIALIZATION:
      return Status::IOError(msg);
    case DUCKDB_ERROR_OUT_OF_MEMORY:
      return Status::Unavailable(msg);
    case DUCKDB_ERROR_INTERRUPT:
      return Status::Aborted(msg);
    case DUCKDB_ERROR_TRANSACTION:
      return Status::Aborted(msg);
    default:
      return Status::InvalidArgument(msg);
  }
}

Status ResultError(duckdb_result* r) {
  const char* msg = duckdb_result_error(r);
  return FromDuckError(duckdb_result_error_type(r), msg != nullptr ? msg : "duckdb error");
}

}  // namespace

std::string SqlQuote(std::string_view s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out += '\'';
    out += c;
  }
  out += '\'';
  return out;
}

// ---------------------------------------------------------------- DuckChunk

DuckChunk::DuckChunk(duckdb_data_chunk chunk) {
  rows_ = duckdb_data_chunk_get_size(chunk);
  size_t n = duckdb_data_chunk_get_column_count(chunk);
  cols_.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    duckdb_vector v = duckdb_data_chunk_get_vector(chunk, i);
    duckdb_logical_type t = duckdb_vector_get_column_type(v);
    Column c{duckdb_get_type_id(t), duckdb_vector_get_data(v), duckdb_vector_get_validity(v)};
    duckdb_destroy_logical_type(&t);
    cols_.push_back(c);
  }
}

bool DuckChunk::IsNull(size_t col, size_t row) const {
  const uint64_t* validity = cols_[col].validity;
  return validity != nullptr && !duckdb_validity_row_is_valid(const_cast<uint64_t*>(validity), row);
}

int64_t DuckChunk::Int(size_t col, size_t row) const {
  const Column& c = cols_[col];
  switch (c.type) {
    case DUCKDB_TYPE_BOOLEAN: return static_cast<const bool*>(c.data)[row] ? 1 : 0;
    case DUCKDB_TYPE_TINYINT: return static_cast<const int8_t*>(c.data)[row];
    case DUCKDB_TYPE_SMALLINT: return static_cast<const int16_t*>(c.data)[row];
    case DUCKDB_TYPE_INTEGER:
    case DUCKDB_TYPE_DATE: return static_cast<const int32_t*>(c.data)[row];
    case DUCKDB_TYPE_BIGINT:
    case DUCKDB_TYPE_TIMESTAMP: return static_cast<const int64_t*>(c.data)[row];
    case DUCKDB_TYPE_UTINYINT: return static_cast<const uint8_t*>(c.data)[row];
    case DUCKDB_TYPE_USMALLINT: return static_cast<const uint16_t*>(c.data)[row];
    case DUCKDB_TYPE_UINTEGER: return static_cast<const uint32_t*>(c.data)[row];
    case DUCKDB_TYPE_UBIGINT: {
      uint64_t v = static_cast<const uint64_t*>(c.data)[row];
      return static_cast<int64_t>(std::min<uint64_t>(v, std::numeric_limits<int64_t>::max()));
    }
    case DUCKDB_TYPE_HUGEINT: {
      duckdb_hugeint h = static_cast<const duckdb_hugeint*>(c.data)[row];
      if (h.upper == 0 && h.lower <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        return static_cast<int64_t>(h.lower);
      }
      if (h.upper == -1 && h.lower >= (uint64_t{1} << 63)) return static_cast<int64_t>(h.lower);
      return h.upper < 0 ? std::numeric_limits<int64_t>::min()
                         : std::numeric_limits<int64_t>::max();
    }
    case DUCKDB_TYPE_DOUBLE: return static_cast<int64_t>(static_cast<const double*>(c.data)[row]);
    default: return 0;
  }
}

double DuckChunk::Double(size_t col, size_t row) const {
  const Column& c = cols_[col];
  if (c.type == DUCKDB_TYPE_DOUBLE) return static_cast<const double*>(c.data)[row];
  if (c.type == DUCKDB_TYPE_FLOAT) return static_cast<const float*>(c.data)[row];
  if (c.type == DUCKDB_TYPE_HUGEINT) {
    return duckdb_hugeint_to_double(static_cast<const duckdb_hugeint*>(c.data)[row]);
  }
  return static_cast<double>(Int(col, row));
}

std::string_view DuckChunk::String(size_t col, size_t row) const {
  const Column& c = cols_[col];
  if (c.type != DUCKDB_TYPE_VARCHAR && c.type != DUCKDB_TYPE_BLOB) return {};
  auto* s = static_cast<duckdb_string_t*>(c.data) + row;
  return {duckdb_string_t_data(s), duckdb_string_t_length(*s)};
}

bool DuckChunk::Bool(size_t col, size_t row) const { return Int(col, row) != 0; }

// --------------------------------------------------------------- DuckResult

DuckResult::~DuckResult() {
  if (valid_) duckdb_destroy_result(&r_);
}

DuckResult& DuckResult::operator=(DuckResult&& o) noexcept {
  if (this != &o) {
    if (valid_) duckdb_destroy_result(&r_);
    r_ = o.r_;
    valid_ = std::exchange(o.valid_, false);
  }
  return *this;
}

size_t DuckResult::columns() { return valid_ ? duckdb_column_count(&r_) : 0; }

std::string DuckResult::ColumnName(size_t col) {
  const char* name = duckdb_column_name(&r_, col);
  return name != nullptr ? name : "";
}

Status DuckResult::ForEachChunk(const std::function<Status(const DuckChunk&)>& fn) {
  if (!valid_) return Status::OK();
  for (;;) {
    duckdb_data_chunk chunk = duckdb_fetch_chunk(r_);
    if (chunk == nullptr) {
      const char* err = duckdb_result_error(&r_);
      if (err != nullptr && *err != '\0') return ResultError(&r_);
      return Status::OK();
    }
    Status st = fn(DuckChunk(chunk));
    duckdb_destroy_data_chunk(&chunk);
    VP_RETURN_IF_ERROR(st);
  }
}

Result<int64_t> DuckResult::ScalarInt() {
  int64_t v = 0;
  bool seen = false;
  Status st = ForEachChunk([&](const DuckChunk& c) {
    if (!seen && c.rows() > 0) {
      seen = true;
      if (!c.IsNull(0, 0)) v = c.Int(0, 0);
    }
    return Status::OK();
  });
  if (!st.ok()) return st;
  return v;
}

// ------------------------------------------------------------- DuckDatabase

Result<std::unique_ptr<DuckDatabase>> DuckDatabase::Open(
    const std::string& path, const std::vector<std::pair<std::string, std::string>>& config) {
  duckdb_config cfg = nullptr;
  if (duckdb_create_config(&cfg) != DuckDBSuccess) return Status::IOError("duckdb: no config");
  for (const auto& [k, v] : config) {
    if (duckdb_set_config(cfg, k.c_str(), v.c_str()) != DuckDBSuccess) {
      duckdb_destroy_config(&cfg);
      return Status::InvalidArgument("duckdb: bad option " + k + "=" + v);
    }
  }
  std::unique_ptr<DuckDatabase> db(new DuckDatabase());
  db->path_ = path;
  char* err = nullptr;
  duckdb_state st = duckdb_open_ext(path.empty() ? nullptr : path.c_str(), &db->db_, cfg, &err);
  duckdb_destroy_config(&cfg);
  if (st != DuckDBSuccess) {
    std::string msg = "duckdb: cannot open " + (path.empty() ? ":memory:" : path) + ": " +
                      (err != nullptr ? err : "unknown error");
    if (err != nullptr) duckdb_free(err);
    db->db_ = nullptr;
    return Status::IOError(msg);
  }
  return db;
}

DuckDatabase::~DuckDatabase() {
  if (db_ != nullptr) duckdb_close(&db_);
}

Result<std::unique_ptr<DuckConnection>> DuckDatabase::Connect() {
  duckdb_connection c = nullptr;
  if (duckdb_connect(db_, &c) != DuckDBSuccess) return Status::IOError("duckdb: cannot connect");
  return std::unique_ptr<DuckConnection>(new DuckConnection(c));
}

// ----------------------------------------------------------- DuckConnection

DuckConnection::~DuckConnection() {
  if (conn_ != nullptr) duckdb_disconnect(&conn_);
}

Status DuckConnection::Execute(const std::string& sql) {
  duckdb_result r;
  if (duckdb_query(conn_, sql.c_str(), &r) != DuckDBSuccess) {
    Status st = ResultError(&r);
    duckdb_destroy_result(&r);
    return st;
  }
  duckdb_destroy_result(&r);
  return Status::OK();
}

Result<DuckResult> DuckConnection::Query(const std::string& sql) {
  duckdb_result r;
  if (duckdb_query(conn_, sql.c_str(), &r) != DuckDBSuccess) {
    Status st = ResultError(&r);
    duckdb_destroy_result(&r);
    return st;
  }
  return DuckResult(r);
}

Result<DuckResult> DuckConnection::QueryParams(const std::string& sql,
                                               const std::vector<std::string>& params) {
  duckdb_prepared_statement stmt = nullptr;
  if (duckdb_prepare(conn_, sql.c_str(), &stmt) != DuckDBSuccess) {
    const char* e = duckdb_prepare_error(stmt);
    Status st = Status::InvalidArgument(e != nullptr ? e : "duckdb: prepare failed");
    duckdb_destroy_prepare(&stmt);
    return st;
  }
  for (size_t i = 0; i < params.size(); ++i) {
    if (duckdb_bind_varchar_length(stmt, i + 1, params[i].data(), params[i].size()) !=
        DuckDBSuccess) {
      duckdb_destroy_prepare(&stmt);
      return Status::InvalidArgument("duckdb: cannot bind parameter " + std::to_string(i + 1));
    }
  }
  duckdb_result r;
  duckdb_state state = duckdb_execute_prepared(stmt, &r);
  duckdb_destroy_prepare(&stmt);
  if (state != DuckDBSuccess) {
    Status st = ResultError(&r);
    duckdb_destroy_result(&r);
    return st;
  }
  return DuckResult(r);
}

// ------------------------------------------------------------- DuckAppender

Result<std::unique_ptr<DuckAppender>> DuckAppender::Create(DuckConnection* conn,
                                                           const std::string& schema,
                                                           const std::string& table) {
  duckdb_appender a = nullptr;
  if (duckdb_appender_create(conn->raw(), schema.empty() ? nullptr : schema.c_str(),
                             table.c_str(), &a) != DuckDBSuccess) {
    const char* e = duckdb_appender_error(a);
    Status st = Status::InvalidArgument(std::string("duckdb appender: ") +
                                        (e != nullptr ? e : table));
    duckdb_appender_destroy(&a);
    return st;
  }
  return std::unique_ptr<DuckAppender>(new DuckAppender(a));
}

DuckAppender::~DuckAppender() {
  if (a_ != nullptr) duckdb_appender_destroy(&a_);
}

Status DuckAppender::Error(const char* what) {
  const char* e = duckdb_appender_error(a_);
  return Status::IOError(std::string("duckdb appender ") + what + ": " +
                         (e != nullptr ? e : "failed"));
}

Status DuckAppender::EndRow() {
  if (!ok_) {
    ok_ = true;
    return Error("append");
  }
  if (duckdb_appender_end_row(a_) != DuckDBSuccess) return Error("end row");
  return Status::OK();
}

Status DuckAppender::Flush() {
  if (duckdb_appender_flush(a_) != DuckDBSuccess) return Error("flush");
  return Status::OK();
}

}  // namespace viewpipe
