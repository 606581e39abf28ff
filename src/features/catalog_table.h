#pragma once
// CatalogTable: the title dimension the features read genre and duration
// from (CSV with a header: title_id,genre,kind,duration_s, as `viewpipe sim
// --catalog-out` writes it). A row that cannot be parsed is skipped and
// counted; a title that is not in the table has genre "unknown" and no
// duration. Immutable after Load; thread compatible.

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/status.h"

namespace viewpipe::features {

inline constexpr std::string_view kUnknownGenre = "unknown";

struct CatalogEntry {
  std::string genre;
  int64_t duration_ms = 0;  // 0: unknown
};

class CatalogTable {
 public:
  // Parses CSV text. Never fails: bad rows are skipped and counted.
  static CatalogTable Parse(std::string_view csv);
  // Reads and parses a file; NotFound/IOError when it cannot be read.
  static Result<CatalogTable> Load(const std::string& path);

  // The entry of title_id, or nullptr.
  const CatalogEntry* Find(std::string_view title_id) const;
  std::string_view GenreOf(std::string_view title_id) const;
  size_t size() const { return rows_.size(); }
  int64_t bad_rows() const { return bad_rows_; }

 private:
  std::unordered_map<std::string, CatalogEntry> rows_;
  int64_t bad_rows_ = 0;
};

}  // namespace viewpipe::features
