#include "features/offline_jobs.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/env.h"
#include "common/json_writer.h"
#include "features/feature_fold.h"
#include "features/feature_table.h"
#include "features/lake_event_source.h"

namespace viewpipe::features {
namespace {

namespace fs = std::filesystem;
constexpr char kPartName[] = "part-00000.parquet";

CatalogTable LoadCatalog(const std::string& path) {
  auto c = CatalogTable::Load(path);
  if (!c.ok()) {
    spdlog::warn("features: {} (every genre is 'unknown')", c.status().ToString());
    return CatalogTable();
  }
  if (c->bad_rows() > 0) spdlog::warn("features: {} bad catalog rows skipped", c->bad_rows());
  return std::move(c).value();
}

Status WriteText(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out) return Status::IOError("cannot write " + tmp);
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  return ec ? Status::IOError("rename " + tmp + ": " + ec.message()) : Status::OK();
}

Status CheckSealed(LakeReader* reader, EventDate date, bool allow_unsealed) {
  auto root = reader->Root();
  if (!root.ok()) return root.status();
  auto day = root->days.find(date);
  const bool sealed = day != root->days.end() && day->second.sealed;
  if (sealed || allow_unsealed) return Status::OK();
  return Status::InvalidArgument("lake day " + date.ToString() +
                                 (day == root->days.end() ? " has no events" : " is not sealed") +
                                 " (T+1 jobs read sealed days; --allow-unsealed reads it anyway)");
}

// Writes one daily output directory: the Parquet file, then _SUCCESS.
template <typename Map, typename Eval, typename Cells>
Status WriteDaily(const std::string& dir, const std::string& id_column, const Map& states,
                  std::vector<FeatureColumn> columns, Eval eval, Cells cells,
                  const std::string& success) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Status::IOError("mkdir " + dir + ": " + ec.message());
  fs::remove(JoinPath(dir, "_SUCCESS"), ec);
  columns.insert(columns.begin(), FeatureColumn{id_column, "VARCHAR"});
  auto table = FeatureTable::Create(std::move(columns));
  if (!table.ok()) return table.status();
  for (const auto& [id, state] : states) {
    FeatureCells row = cells(eval(state));
    row.insert(row.begin(), id);
    VP_RETURN_IF_ERROR((*table)->AddRow(row));
  }
  VP_RETURN_IF_ERROR((*table)->WriteParquet(JoinPath(dir, kPartName)));
  return WriteText(JoinPath(dir, "_SUCCESS"), success);
}

}  // namespace

std::string OfflineReport::ToJson() const {
  std::string out = "{\"events\":";
  AppendJsonInt(&out, events);
  out += ",\"lake_files\":";
  AppendJsonInt(&out, lake_files);
  out += ",\"profiles\":";
  AppendJsonInt(&out, profiles);
  out += ",\"titles\":";
  AppendJsonInt(&out, titles);
  out += ",\"rows\":";
  AppendJsonInt(&out, rows);
  out += ",\"catalog_misses\":";
  AppendJsonInt(&out, catalog_misses);
  out += "}";
  return out;
}

Result<OfflineReport> RunDailyJob(const DailyOptions& o) {
  LakeReader reader(o.lake);
  VP_RETURN_IF_ERROR(CheckSealed(&reader, o.date, o.allow_unsealed));
  const CatalogTable catalog = LoadCatalog(o.catalog_path);
  const int64_t as_of = o.date.EndMs() - 1;
  const int64_t from = EventDate{o.date.days - (kProfileHorizonDays - 1)}.StartMs();
  LakeEventSource source(&reader, from, as_of);
  OfflineFold fold(&catalog);
  VP_RETURN_IF_ERROR(fold.Run(&source, {}, nullptr));
  OfflineReport r;
  r.events = fold.events();
  r.lake_files = source.files();
  r.profiles = static_cast<int64_t>(fold.profiles().size());
  r.titles = static_cast<int64_t>(fold.titles().size());
  r.catalog_misses = fold.catalog_misses();
  const std::string part = "event_date=" + o.date.ToString();
  std::string success = "{\"event_date\":\"" + o.date.ToString() + "\",\"as_of\":";
  AppendJsonInt(&success, as_of);
  success += ",\"report\":" + r.ToJson() + "}\n";
  VP_RETURN_IF_ERROR(WriteDaily(
      JoinPath(JoinPath(o.out_dir, "profile_daily"), part), "profile_id", fold.profiles(),
      ProfileColumns(""), [as_of](const ProfileState& s) { return EvaluateProfile(s, as_of); },
      ProfileCells, success));
  VP_RETURN_IF_ERROR(WriteDaily(
      JoinPath(JoinPath(o.out_dir, "title_daily"), part), "title_id", fold.titles(),
      TitleColumns(""), [as_of](const TitleState& s) { return EvaluateTitle(s, as_of); },
      TitleCells, success));
  return r;
}

Result<std::vector<LabelRow>> ParseLabels(std::string_view csv) {
  std::vector<LabelRow> rows;
  size_t line_no = 0;
  while (!csv.empty()) {
    const size_t nl = csv.find('\n');
    std::string_view line = csv.substr(0, nl);
    csv = nl == std::string_view::npos ? std::string_view() : csv.substr(nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (++line_no == 1 || line.empty()) continue;  // the header
    std::vector<std::string_view> cells;
    for (size_t start = 0;;) {
      const size_t comma = line.find(',', start);
      cells.push_back(line.substr(start, comma == line.npos ? line.npos : comma - start));
      if (comma == line.npos) break;
      start = comma + 1;
    }
    LabelRow r;
    const bool shape =
        (cells.size() == 3 || cells.size() == 4) && !cells[0].empty() && !cells[1].empty();
    auto [p, ec] =
        shape ? std::from_chars(cells[2].data(), cells[2].data() + cells[2].size(), r.label_ts)
              : std::from_chars_result{nullptr, std::errc::invalid_argument};
    if (!shape || ec != std::errc() || p != cells[2].data() + cells[2].size()) {
      return Status::InvalidArgument("labels line " + std::to_string(line_no) +
                                     ": want profile_id,title_id,label_ts_ms[,label]");
    }
    r.profile_id = cells[0];
    r.title_id = cells[1];
    if (cells.size() == 4) r.label = cells[3];
    rows.push_back(std::move(r));
  }
  return rows;
}

Result<OfflineReport> RunTrainingJob(const TrainingOptions& o) {
  std::ifstream in(o.labels_path, std::ios::binary);
  if (!in) return Status::NotFound("cannot open labels " + o.labels_path);
  std::stringstream ss;
  ss << in.rdbuf();
  auto labels = ParseLabels(ss.str());
  if (!labels.ok()) return labels.status();
  std::stable_sort(labels->begin(), labels->end(),
                   [](const LabelRow& a, const LabelRow& b) { return a.label_ts < b.label_ts; });
  std::vector<FeatureColumn> columns = {{"profile_id", "VARCHAR"},
                                        {"title_id", "VARCHAR"},
                                        {"label_ts", "BIGINT"},
                                        {"label", "VARCHAR"}};
  for (auto& c : ProfileColumns("p_")) columns.push_back(c);
  for (auto& c : TitleColumns("t_")) columns.push_back(c);
  auto table = FeatureTable::Create(columns);
  if (!table.ok()) return table.status();
  OfflineReport r;
  if (!labels->empty()) {
    const CatalogTable catalog = LoadCatalog(o.catalog_path);
    LakeReader reader(o.lake);
    const int64_t from =
        EventDate{DayOf(labels->front().label_ts) - (kProfileHorizonDays - 1)}.StartMs();
    LakeEventSource source(&reader, from, labels->back().label_ts);
    OfflineFold fold(&catalog);
    VP_RETURN_IF_ERROR(fold.Run(
        &source, *labels, [&](const LabelRow& l, const ProfileState& p, const TitleState& t) {
          FeatureCells row = {l.profile_id, l.title_id, std::to_string(l.label_ts), l.label};
          for (auto& c : ProfileCells(EvaluateProfile(p, l.label_ts))) row.push_back(c);
          for (auto& c : TitleCells(EvaluateTitle(t, l.label_ts))) row.push_back(c);
          return (*table)->AddRow(row);
        }));
    r.events = fold.events();
    r.lake_files = source.files();
    r.catalog_misses = fold.catalog_misses();
  }
  r.rows = (*table)->rows();
  VP_RETURN_IF_ERROR((*table)->WriteParquet(o.out_path));
  return r;
}

}  // namespace viewpipe::features
