#pragma once
// Bytes scanned, the unit a serverless engine bills (docs/lake.md, "Bytes
// scanned").
//
// Cold lake: what a Parquet reader has to fetch for the query after
// partition pruning — for each file the router hands to DuckDB, its footer
// plus the compressed column chunks (all row groups) of the columns the
// query references (every column for a *). Read from the files' own
// metadata (DuckDB's parquet_metadata), cached per file (files never change).
// Row-group skipping inside a file is not credited: an upper bound, like
// Athena's bill for an unsorted column.
//
// Hot tier: an estimate of what DuckDB's in-memory scan touches: rows of
// the days in range x the fixed width of the referenced columns' vectors
// (8 bytes for BIGINT, 16 for VARCHAR/string_t, ...). It is not billed
// per byte (the hot tier is provisioned, see the cost report).
//
// Thread safe.

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "common/status.h"
#include "lake/lake_reader.h"
#include "warehouse/sql_guard.h"

namespace viewpipe {

class DuckConnection;

class ScanAccountant {
 public:
  Result<uint64_t> ColdBytes(DuckConnection* conn, const std::vector<LakeFileRef>& files,
                             const QueryShape& shape);
  static uint64_t HotBytes(int64_t rows, const QueryShape& shape);

 private:
  struct FileBytes {
    uint64_t footer = 0;  // file size minus every column chunk
    std::map<std::string, uint64_t> columns;
  };
  Status Load(DuckConnection* conn, const std::vector<LakeFileRef>& files);

  std::mutex mu_;
  std::map<std::string, FileBytes> cache_;  // by uri
};

}  // namespace viewpipe
