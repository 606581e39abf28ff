#include "features/catalog_table.h"

#include <charconv>
#include <fstream>
#include <sstream>
#include <vector>

namespace viewpipe::features {
namespace {

std::vector<std::string_view> SplitCsv(std::string_view line) {
  std::vector<std::string_view> cells;
  size_t start = 0;
  while (true) {
    size_t comma = line.find(',', start);
    cells.push_back(
        line.substr(start, comma == std::string_view::npos ? line.npos : comma - start));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return cells;
}

bool ValidId(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s) {
    if (static_cast<unsigned char>(c) < 0x20 || c == '"') return false;
  }
  return true;
}

}  // namespace

CatalogTable CatalogTable::Parse(std::string_view csv) {
  CatalogTable t;
  bool header = true;
  while (!csv.empty()) {
    size_t nl = csv.find('\n');
    std::string_view line = csv.substr(0, nl);
    csv = nl == std::string_view::npos ? std::string_view() : csv.substr(nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    if (header) {
      header = false;
      if (line.starts_with("title_id")) continue;
    }
    std::vector<std::string_view> c = SplitCsv(line);
    int64_t duration_s = 0;
    bool ok = c.size() == 4 && ValidId(c[0]) && ValidId(c[1]);
    if (ok) {
      auto [p, ec] = std::from_chars(c[3].data(), c[3].data() + c[3].size(), duration_s);
      ok = ec == std::errc() && p == c[3].data() + c[3].size() && duration_s > 0;
    }
    if (!ok) {
      ++t.bad_rows_;
      continue;
    }
    t.rows_[std::string(c[0])] = CatalogEntry{std::string(c[1]), duration_s * 1000};
  }
  return t;
}

Result<CatalogTable> CatalogTable::Load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound("cannot open catalog " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return Status::IOError("cannot read catalog " + path);
  return Parse(ss.str());
}

const CatalogEntry* CatalogTable::Find(std::string_view title_id) const {
  auto it = rows_.find(std::string(title_id));
  return it == rows_.end() ? nullptr : &it->second;
}

std::string_view CatalogTable::GenreOf(std::string_view title_id) const {
  const CatalogEntry* e = Find(title_id);
  return e ? std::string_view(e->genre) : kUnknownGenre;
}

}  // namespace viewpipe::features
