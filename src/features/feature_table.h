#pragma once
// FeatureTable: rows of feature vectors written to one Parquet file through
// DuckDB (the offline outputs: features/profile_daily, features/title_daily,
// training sets). Nested features (recent titles, seconds per genre) are JSON
// text columns, exactly the JSON of the online API. The file appears
// atomically (written to <path>.tmp, then renamed). Thread compatible.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "features/feature_vector.h"

namespace viewpipe {
class DuckDatabase;
class DuckConnection;
class DuckAppender;
}  // namespace viewpipe

namespace viewpipe::features {

struct FeatureColumn {
  std::string name;
  std::string type;  // DuckDB type in the Parquet file: VARCHAR, BIGINT, DOUBLE
};

using FeatureCells = std::vector<std::optional<std::string>>;  // nullopt: NULL

// The columns (names prefixed) and cells of a profile / title vector.
std::vector<FeatureColumn> ProfileColumns(const std::string& prefix);
FeatureCells ProfileCells(const ProfileFeatures& f);
std::vector<FeatureColumn> TitleColumns(const std::string& prefix);
FeatureCells TitleCells(const TitleFeatures& f);

class FeatureTable {
 public:
  static Result<std::unique_ptr<FeatureTable>> Create(std::vector<FeatureColumn> columns);
  ~FeatureTable();
  // REQUIRES: cells.size() == the number of columns.
  Status AddRow(const FeatureCells& cells);
  // Writes every row (in insertion order) to path as Parquet (ZSTD).
  Status WriteParquet(const std::string& path);
  int64_t rows() const { return rows_; }

 private:
  FeatureTable() = default;
  std::vector<FeatureColumn> columns_;
  std::unique_ptr<DuckDatabase> db_;
  std::unique_ptr<DuckConnection> conn_;
  std::unique_ptr<DuckAppender> appender_;
  int64_t rows_ = 0;
};

}  // namespace viewpipe::features
