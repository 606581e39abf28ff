#include "warehouse/scan_accounting.h"

#include "lake/duck.h"
#include "lake/lake_schema.h"
#include "lake/parquet_writer.h"

namespace viewpipe {
namespace {

constexpr size_t kMaxCachedFiles = 200000;

bool Referenced(const QueryShape& shape, const std::string& column) {
  return shape.all_columns || shape.columns.count(column) > 0;
}

}  // namespace

Status ScanAccountant::Load(DuckConnection* conn, const std::vector<LakeFileRef>& files) {
  std::vector<std::string> missing;
  std::map<std::string, uint64_t> sizes;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const LakeFileRef& f : files) {
      if (!cache_.count(f.uri)) {
        missing.push_back(f.uri);
        sizes[f.uri] = f.bytes;
      }
    }
  }
  if (missing.empty()) return Status::OK();
  std::map<std::string, FileBytes> loaded;
  // Batches keep the statement small for a lake of many files.
  for (size_t i = 0; i < missing.size(); i += 2000) {
    std::vector<std::string> batch(missing.begin() + i,
                                   missing.begin() + std::min(missing.size(), i + 2000));
    auto res = conn->Query(
        "SELECT file_name, path_in_schema, sum(total_compressed_size) FROM parquet_metadata(" +
        SqlStringList(batch) + ") GROUP BY ALL");
    if (!res.ok()) return res.status();
    VP_RETURN_IF_ERROR(res->ForEachChunk([&](const DuckChunk& c) {
      for (size_t r = 0; r < c.rows(); ++r) {
        std::string path(c.String(1, r));
        std::string column = path.substr(0, path.find(','));  // "experiments, key_value, key"
        loaded[std::string(c.String(0, r))].columns[column] += static_cast<uint64_t>(c.Int(2, r));
      }
      return Status::OK();
    }));
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (cache_.size() + loaded.size() > kMaxCachedFiles) cache_.clear();
  for (auto& [uri, bytes] : loaded) {
    uint64_t chunks = 0;
    for (const auto& [col, n] : bytes.columns) chunks += n;
    uint64_t size = sizes[uri];
    bytes.footer = size > chunks ? size - chunks : 0;
    cache_[uri] = std::move(bytes);
  }
  return Status::OK();
}

Result<uint64_t> ScanAccountant::ColdBytes(DuckConnection* conn,
                                           const std::vector<LakeFileRef>& files,
                                           const QueryShape& shape) {
  VP_RETURN_IF_ERROR(Load(conn, files));
  uint64_t total = 0;
  std::lock_guard<std::mutex> lock(mu_);
  for (const LakeFileRef& f : files) {
    auto it = cache_.find(f.uri);
    if (it == cache_.end()) {
      total += f.bytes;  // evicted meanwhile: count the whole file
      continue;
    }
    total += it->second.footer;
    for (const auto& [col, n] : it->second.columns) {
      if (Referenced(shape, col)) total += n;
    }
  }
  return total;
}

uint64_t ScanAccountant::HotBytes(int64_t rows, const QueryShape& shape) {
  uint64_t width = 0;
  for (const LakeColumn& c : LakeColumns()) {
    if (!Referenced(shape, std::string(c.name))) continue;
    if (c.type == "BIGINT") width += 8;
    else if (c.type == "INTEGER") width += 4;
    else if (c.type == "BOOLEAN") width += 1;
    else if (c.type == "VARCHAR") width += 16;
    else width += 32;  // MAP: list entry + keys + values
  }
  if (Referenced(shape, "event_date")) width += 4;
  return static_cast<uint64_t>(rows) * width;
}

}  // namespace viewpipe
