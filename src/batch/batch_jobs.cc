#include "batch/batch_jobs.h"

#include <filesystem>
#include <memory>
#include <set>

#include "batch/batch_sql.h"
#include "batch/weekly_sessions.h"
#include "common/crc32c.h"
#include "lake/duck.h"

namespace viewpipe::batch {
namespace {

constexpr char kPartName[] = "part-00000.parquet";
constexpr char kCatalogKey[] = "catalog_crc32c";
constexpr char kPrevWeekKey[] = "prev_week_checksum";

struct Duck {
  std::unique_ptr<DuckDatabase> db;
  std::unique_ptr<DuckConnection> conn;
};

// One thread and ORDER BYs over unique keys: the same inputs give the same
// bytes. Beyond memory_limit, DuckDB spills to temp_dir (an in-memory
// database has no temp directory of its own and would fail).
Result<Duck> OpenDuck(const std::string& memory_limit, const std::string& temp_dir) {
  auto db = DuckDatabase::Open("", {{"threads", "1"},
                                    {"memory_limit", memory_limit},
                                    {"temp_directory", temp_dir},
                                    {"preserve_insertion_order", "false"}});
  if (!db.ok()) return db.status();
  Duck d{std::move(db).value(), nullptr};
  auto conn = d.db->Connect();
  if (!conn.ok()) return conn.status();
  d.conn = std::move(conn).value();
  return d;
}

Status LoadCatalog(DuckConnection* conn, Env* env, const std::string& path) {
  if (path.empty() || !env->FileExists(path)) {
    return conn->Execute(
        "CREATE TABLE catalog (title_id VARCHAR, genre VARCHAR, kind VARCHAR, duration_s INTEGER)");
  }
  return conn->Execute(
      "CREATE TABLE catalog AS SELECT DISTINCT ON (title_id) title_id, genre, kind, duration_s "
      "FROM read_csv(" + SqlQuote(path) + ", header = true, columns = {'title_id': 'VARCHAR', "
      "'genre': 'VARCHAR', 'kind': 'VARCHAR', 'duration_s': 'INTEGER'}) "
      "WHERE title_id IS NOT NULL ORDER BY title_id, genre");
}

Status CopyToParquet(DuckConnection* conn, const std::string& select, const std::string& path) {
  return conn->Execute("COPY (" + select + ") TO " + SqlQuote(path) +
                       " (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 122880)");
}

Result<int64_t> CountRows(DuckConnection* conn, const std::string& table) {
  auto r = conn->Query("SELECT count(*) FROM " + table);
  if (!r.ok()) return r.status();
  return r->ScalarInt();
}

// The job's DuckDB (spilling into scratch/spill) with the catalog loaded.
Result<Duck> OpenJobDuck(const JobOptions& o, const std::string& scratch) {
  VP_RETURN_IF_ERROR(o.env->CreateDirs(scratch));
  auto duck = OpenDuck(o.memory_limit, JoinPath(scratch, "spill"));
  if (!duck.ok()) return duck.status();
  VP_RETURN_IF_ERROR(LoadCatalog(duck->conn.get(), o.env, o.catalog_path));
  return duck;
}

std::vector<std::string> Uris(const std::vector<LakeFileRef>& files) {
  std::vector<std::string> uris;
  for (const LakeFileRef& f : files) uris.push_back(f.uri);
  return uris;
}

// Creates the table `sessions` from the files: SessionsSql over sessions
// bucketed by hash(session_id), about rows_per_bucket events each (a
// session is wholly in one bucket), so a job's memory stays bounded however
// large the day: DuckDB's window over a whole demo-rate day (30 M events)
// ran out of a 1 GB limit. The events are split into their buckets in one
// pass (Parquet files under scratch/buckets/, removed after): filtering the
// day once per bucket read it N times, quadratic in its size (a 10x day is
// 100 buckets). Rows land in bucket order; outputs are written ordered by
// a unique key, so the bytes do not depend on the bucketing.
Status BuildSessions(DuckConnection* conn, const std::vector<LakeFileRef>& files,
                     int64_t rows_per_bucket, const std::string& scratch) {
  int64_t rows = 0;
  for (const LakeFileRef& f : files) rows += f.rows;
  const int64_t per = std::max<int64_t>(1, rows_per_bucket);
  const int64_t buckets = std::max<int64_t>(1, (rows + per - 1) / per);
  const std::string all = ReadParquetSql(Uris(files));
  if (buckets == 1) return conn->Execute("CREATE TABLE sessions AS " + SessionsSql(all));
  const std::string dir = JoinPath(scratch, "buckets");
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);  // DuckDB's scratch, not a durable file: no Env
  VP_RETURN_IF_ERROR(conn->Execute(
      "COPY (SELECT *, hash(session_id) % " + std::to_string(buckets) +
      " AS bucket FROM " + all + ") TO " + SqlQuote(dir) +
      " (FORMAT parquet, PARTITION_BY (bucket), COMPRESSION zstd, COMPRESSION_LEVEL 1,"
      " ROW_GROUP_SIZE 16384)"));  // small row groups: one open writer per bucket
  bool created = false;
  for (int64_t b = 0; b < buckets; ++b) {
    const std::string part = JoinPath(dir, "bucket=" + std::to_string(b));
    if (!std::filesystem::exists(part, ec)) continue;  // no session hashed here
    const std::string source = "read_parquet(" + SqlQuote(JoinPath(part, "*.parquet")) +
                               ", hive_partitioning = false)";
    VP_RETURN_IF_ERROR(conn->Execute(
        (created ? "INSERT INTO sessions " : "CREATE TABLE sessions AS ") + SessionsSql(source)));
    created = true;
  }
  std::filesystem::remove_all(dir, ec);
  return Status::OK();
}

// Writes table to path ordered by order (a unique key: the bytes are then
// the same every run).
Result<OutputFile> WriteTable(DuckConnection* conn, const std::string& table,
                              const std::string& order, const std::string& path) {
  VP_RETURN_IF_ERROR(
      CopyToParquet(conn, "SELECT * FROM " + table + " ORDER BY " + order, path));
  auto rows = CountRows(conn, table);
  if (!rows.ok()) return rows.status();
  return OutputFile{kPartName, path, *rows};
}

// The table `prev`: the committed output of week (empty when there is none).
Status LoadPrevWeek(DuckConnection* conn, ObjectStore* store, IsoWeek week) {
  auto prev = ReadOutputManifest(store, WeeklyPrefix(week));
  if (!prev.ok() && !prev.status().IsNotFound()) return prev.status();
  if (!prev.ok() || prev->files.empty()) return conn->Execute(EmptyPrevWeekSql());
  std::vector<std::string> uris;
  for (const ManifestFile& f : prev->files) {
    uris.push_back(store->ReadUri(WeeklyPrefix(week) + f.name));
  }
  return conn->Execute(
      "CREATE TABLE prev AS SELECT dimension, \"key\", unique_viewers, hours_watched FROM " +
      ReadParquetSql(uris));
}

void Report(const JobProgress& progress, int step, int steps, std::string_view what) {
  if (progress) progress(step, steps, what);
}

}  // namespace

std::string DailyRunKey(EventDate date) { return "daily-" + date.ToString(); }
std::string WeeklyRunKey(IsoWeek week) { return "weekly-" + week.ToString(); }
std::string DailyPrefix(std::string_view dataset, EventDate date) {
  return "datasets/" + std::string(dataset) + "/event_date=" + date.ToString() + "/";
}
std::string WeeklyPrefix(IsoWeek week) {
  return "aggregates/weekly_title_stats/week=" + week.ToString() + "/";
}

BatchJobs::BatchJobs(JobOptions options) : options_(std::move(options)), reader_(options_.store) {}

Result<uint32_t> BatchJobs::CatalogCrc() {
  if (options_.catalog_path.empty() || !options_.env->FileExists(options_.catalog_path)) return 0u;
  std::string data;
  VP_RETURN_IF_ERROR(options_.env->ReadFileToString(options_.catalog_path, &data));
  return crc32c::Value(data);
}

Result<std::map<std::string, int64_t>> BatchJobs::DailyInputs(EventDate date,
                                                              const RootManifest& root,
                                                              bool force) {
  auto day = root.days.find(date);
  if (day == root.days.end()) {
    return Status::NotFound("day " + date.ToString() + " is not in the lake");
  }
  if (!day->second.sealed && !force) {
    return Status::InvalidArgument(
        "day " + date.ToString() + " is not sealed yet (no _SUCCESS): its data may still "
        "change; wait for the seal or use --force (the output is then marked provisional)");
  }
  auto crc = CatalogCrc();
  if (!crc.ok()) return crc.status();
  return std::map<std::string, int64_t>{{date.ToString(), day->second.manifest},
                                        {kCatalogKey, *crc}};
}

Result<std::map<std::string, int64_t>> BatchJobs::WeeklyInputs(IsoWeek week,
                                                               const RootManifest& root,
                                                               bool force) {
  std::map<std::string, int64_t> inputs;
  for (EventDate d = week.Monday(); d <= week.Sunday(); d = d.Next()) {
    auto day = root.days.find(d);
    bool sealed = day != root.days.end() && day->second.sealed;
    if (!sealed && !force) {
      return Status::InvalidArgument(
          "week " + week.ToString() + ": day " + d.ToString() +
          (day == root.days.end() ? " is not in the lake" : " is not sealed yet") +
          "; a week runs once its seven days are sealed (or use --force: provisional output)");
    }
    if (day != root.days.end()) inputs[d.ToString()] = day->second.manifest;
  }
  auto crc = CatalogCrc();
  if (!crc.ok()) return crc.status();
  inputs[kCatalogKey] = *crc;
  auto prev = ReadOutputManifest(options_.store, WeeklyPrefix(week.Prev()));
  if (!prev.ok() && !prev.status().IsNotFound()) return prev.status();
  inputs[kPrevWeekKey] = prev.ok() ? static_cast<int64_t>(prev->checksum) : -1;
  return inputs;
}

Result<bool> BatchJobs::Due(const std::vector<std::string>& prefixes,
                            const Result<std::map<std::string, int64_t>>& inputs) {
  if (!inputs.ok()) return inputs.status();
  for (const std::string& prefix : prefixes) {
    auto m = ReadOutputManifest(options_.store, prefix);
    if (!m.ok() && !m.status().IsNotFound()) return m.status();
    if (!m.ok() || m->provisional || m->inputs != inputs.value()) return true;
  }
  return false;
}

Result<bool> BatchJobs::DailyDue(EventDate date, const RootManifest& root) {
  return Due({DailyPrefix("sessions", date), DailyPrefix("interactions", date)},
             DailyInputs(date, root, false));
}

Result<bool> BatchJobs::WeeklyDue(IsoWeek week, const RootManifest& root) {
  return Due({WeeklyPrefix(week)}, WeeklyInputs(week, root, false));
}

Result<JobResult> BatchJobs::Daily(EventDate date, bool force, const JobProgress& progress) {
  const int steps = 5;
  Report(progress, 1, steps, "reading the lake's manifests");
  RootManifest root;
  auto files = reader_.Files(LakeRange{date.StartMs(), date.EndMs() - 1}, &root);
  if (!files.ok()) return files.status();
  auto inputs = DailyInputs(date, root, force);
  if (!inputs.ok()) return inputs.status();
  if (files->empty()) return Status::NotFound("day " + date.ToString() + " has no files");
  bool provisional = !root.days[date].sealed;
  std::string scratch = JoinPath(options_.scratch_dir, DailyRunKey(date));
  auto duck = OpenJobDuck(options_, scratch);
  if (!duck.ok()) return duck.status();
  DuckConnection* conn = duck->conn.get();
  Report(progress, 2, steps, "sessions");
  VP_RETURN_IF_ERROR(
      BuildSessions(conn, *files, options_.rows_per_bucket, scratch));
  auto sessions = WriteTable(conn, "sessions", "session_id", JoinPath(scratch, "sessions.parquet"));
  if (!sessions.ok()) return sessions.status();
  Report(progress, 3, steps, "interactions");
  VP_RETURN_IF_ERROR(conn->Execute("CREATE TABLE interactions AS " + InteractionsSql()));
  auto interactions = WriteTable(conn, "interactions", "profile_id, title_id",
                                 JoinPath(scratch, "interactions.parquet"));
  if (!interactions.ok()) return interactions.status();
  Report(progress, 4, steps, "publishing");
  std::string partition = "event_date=" + date.ToString();
  std::vector<Output> outputs = {{DailyPrefix("sessions", date), "daily", "sessions", partition,
                                  provisional, *inputs, {*sessions}},
                                 {DailyPrefix("interactions", date), "daily", "interactions",
                                  partition, provisional, *inputs, {*interactions}}};
  auto done = Publish(DailyRunKey(date), std::move(outputs));
  Report(progress, 5, steps, "done");
  return done;
}

Result<bool> BatchJobs::DailyCurrent(EventDate date, const RootManifest& root, bool force) {
  auto inputs = DailyInputs(date, root, force);
  if (!inputs.ok()) return inputs.status();
  auto m = ReadOutputManifest(options_.store, DailyPrefix("sessions", date));
  if (!m.ok() && !m.status().IsNotFound()) return m.status();
  return m.ok() && m->inputs == *inputs && (force || !m->provisional) && m->files.size() == 1;
}

Result<std::vector<EventDate>> BatchJobs::DailiesDue(IsoWeek week, bool force) {
  RootManifest root;
  auto files =
      reader_.Files(LakeRange{week.Monday().StartMs(), week.Sunday().EndMs() - 1}, &root);
  if (!files.ok()) return files.status();
  std::set<EventDate> dates;
  for (const LakeFileRef& f : *files) dates.insert(f.date);
  std::vector<EventDate> due;
  for (EventDate date : dates) {
    auto current = DailyCurrent(date, root, force);
    if (!current.ok()) return current.status();
    if (!*current) due.push_back(date);
  }
  return due;
}

Result<std::vector<WeekDay>> BatchJobs::WeekDays(IsoWeek week, const RootManifest& root,
                                                 const std::vector<LakeFileRef>& files,
                                                 bool force) {
  std::map<EventDate, std::vector<std::string>> by_day;
  for (const LakeFileRef& f : files) by_day[f.date].push_back(f.uri);
  std::vector<WeekDay> days;
  for (auto& [date, uris] : by_day) {
    auto current = DailyCurrent(date, root, force);
    if (!current.ok()) return current.status();
    if (!*current) {
      return Status::Unavailable(
          "week " + week.ToString() + " is built from the daily sessions, and those of " +
          date.ToString() + " are missing or stale: run `viewpipe batch daily --date " +
          date.ToString() + "` first (`viewpipe batch weekly` and the scheduler do)");
    }
    auto m = ReadOutputManifest(options_.store, DailyPrefix("sessions", date));
    if (!m.ok()) return m.status();
    days.push_back(WeekDay{date,
                           options_.store->ReadUri(DailyPrefix("sessions", date) + m->files[0].name),
                           std::move(uris)});
  }
  return days;
}

Result<JobResult> BatchJobs::Weekly(IsoWeek week, bool force, const JobProgress& progress) {
  const int steps = 4;
  Report(progress, 1, steps, "reading the lake's manifests");
  RootManifest root;
  auto files =
      reader_.Files(LakeRange{week.Monday().StartMs(), week.Sunday().EndMs() - 1}, &root);
  if (!files.ok()) return files.status();
  auto inputs = WeeklyInputs(week, root, force);
  if (!inputs.ok()) return inputs.status();
  if (files->empty()) return Status::NotFound("week " + week.ToString() + " has no files");
  bool provisional = false;
  for (EventDate d = week.Monday(); d <= week.Sunday(); d = d.Next()) {
    provisional |= !root.days.count(d) || !root.days[d].sealed;
  }
  auto days = WeekDays(week, root, *files, force);
  if (!days.ok()) return days.status();
  std::string scratch = JoinPath(options_.scratch_dir, WeeklyRunKey(week));
  auto duck = OpenJobDuck(options_, scratch);
  if (!duck.ok()) return duck.status();
  DuckConnection* conn = duck->conn.get();
  VP_RETURN_IF_ERROR(LoadPrevWeek(conn, options_.store, week.Prev()));
  Report(progress, 2, steps, "sessions of the week (from the daily sessions)");
  auto built = BuildWeeklySessions(conn, *days);
  if (!built.ok()) return built.status();
  Report(progress, 3, steps, "title, genre and country stats");
  VP_RETURN_IF_ERROR(conn->Execute("CREATE TABLE weekly AS " + WeeklySql(week.ToString())));
  auto stats = WriteTable(conn, "weekly", "dimension, \"key\"",
                          JoinPath(scratch, "weekly_title_stats.parquet"));
  if (!stats.ok()) return stats.status();
  Report(progress, 4, steps, "publishing");
  std::vector<Output> outputs = {{WeeklyPrefix(week), "weekly", "weekly_title_stats",
                                  "week=" + week.ToString(), provisional, *inputs, {*stats}}};
  return Publish(WeeklyRunKey(week), std::move(outputs));
}

Result<JobResult> BatchJobs::Publish(const std::string& run_key, std::vector<Output> outputs) {
  OutputCommitter committer(options_.store, run_key);
  if (probe_) committer.SetProbe(probe_);
  auto manifests = committer.Commit(outputs);
  for (const Output& o : outputs) {
    for (const OutputFile& f : o.files) options_.env->RemoveFile(f.local_path);
  }
  if (!manifests.ok()) return manifests.status();
  JobResult r{run_key, 0, 0, outputs[0].provisional, outputs[0].inputs};
  for (const OutputManifest& m : *manifests) {
    r.rows += m.rows;
    r.bytes += m.bytes;
  }
  return r;
}

}  // namespace viewpipe::batch
