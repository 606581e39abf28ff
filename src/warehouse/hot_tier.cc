#include "warehouse/hot_tier.h"

#include <spdlog/spdlog.h>

#include <filesystem>

#include "lake/lake_schema.h"
#include "warehouse/session_summary.h"

namespace viewpipe {
namespace fs = std::filesystem;

Result<std::unique_ptr<HotTier>> HotTier::Open(const HotTierOptions& options) {
  std::unique_ptr<HotTier> h(new HotTier(options));
  std::vector<std::pair<std::string, std::string>> config = {
      {"threads", std::to_string(options.threads)},
      {"memory_limit", options.memory_limit},
      {"autoinstall_known_extensions", "false"},
      {"autoload_known_extensions", "false"}};
  if (options.read_only) config.push_back({"access_mode", "READ_ONLY"});
  std::error_code ec;
  if (!options.read_only) fs::create_directories(fs::path(options.db_path).parent_path(), ec);
  auto db = DuckDatabase::Open(options.db_path, config);
  if (!db.ok()) return db.status();
  h->db_ = std::move(db).value();
  auto conn = h->db_->Connect();
  if (!conn.ok()) return conn.status();
  h->writer_ = std::move(conn).value();
  if (!options.read_only) VP_RETURN_IF_ERROR(h->CreateSchema());
  VP_RETURN_IF_ERROR(h->LockDown());
  return h;
}

HotTier::~HotTier() {
  staging_.reset();
  writer_.reset();
}

Status HotTier::CreateSchema() {
  VP_RETURN_IF_ERROR(writer_->Execute(
      "CREATE SCHEMA IF NOT EXISTS vp;"
      "CREATE TABLE IF NOT EXISTS vp.events (" + LakeColumnsDdl() + ", event_date DATE);"
      "CREATE TABLE IF NOT EXISTS vp.offsets (part INTEGER PRIMARY KEY, next_offset BIGINT);"
      "CREATE TEMP TABLE staging (" + LakeStagingColumnsDdl() + ", event_date DATE);"));
  VP_RETURN_IF_ERROR(CreateSummary());
  auto a = DuckAppender::Create(writer_.get(), "", "staging");
  if (!a.ok()) return a.status();
  staging_ = std::move(a).value();
  return Status::OK();
}

// The session summary (session_summary.h) is created with the events'
// tables, or rebuilt from the events a database of an older version holds,
// in one transaction: covered from the window's start (earlier days are
// never loaded).
Status HotTier::CreateSummary() {
  auto have = writer_->Query(SessionSummaryCoverageSql());
  if (have.ok()) return Status::OK();
  return InTransaction(SessionSummaryDdl() + SessionSummaryMergeSql("SELECT * FROM vp.events") +
                       SessionSummarySetCoverageSql(WindowStart().StartMs()));
}

Status HotTier::InTransaction(const std::string& sql) {
  VP_RETURN_IF_ERROR(writer_->Execute("BEGIN TRANSACTION"));
  Status st = writer_->Execute(sql);
  if (st.ok()) st = writer_->Execute("COMMIT");
  if (!st.ok()) (void)writer_->Execute("ROLLBACK");
  return st;
}

Result<int64_t> HotTier::SummaryCoversFromMs() {
  auto conn = Connect();
  if (!conn.ok()) return conn.status();
  auto res = (*conn)->Query(SessionSummaryCoverageSql());
  if (!res.ok()) return res.status();
  return res->ScalarInt();
}

Status HotTier::LockDown() {
  std::string allowed = "[]";
  if (!options_.lake_root.empty()) {
    std::error_code ec;
    fs::path root = fs::weakly_canonical(fs::absolute(options_.lake_root), ec);
    allowed = "[" + SqlQuote(root.string() + "/") + "]";
  }
  return writer_->Execute("SET allowed_directories = " + allowed +
                          "; SET enable_external_access = false; SET lock_configuration = true;");
}

EventDate HotTier::WindowStart() const {
  return EventDate{EventDate::OfMs(options_.clock->NowMs()).days - (options_.hot_days - 1)};
}

Result<EventIdSet*> HotTier::IdsOf(EventDate date) {
  auto it = ids_.find(date);
  if (it != ids_.end()) return &it->second;
  EventIdSet set;
  auto res = writer_->Query("SELECT event_id FROM vp.events WHERE event_date = " +
                            SqlQuote(date.ToString()) + "::DATE");
  if (!res.ok()) return res.status();
  VP_RETURN_IF_ERROR(res->ForEachChunk([&](const DuckChunk& c) {
    for (size_t r = 0; r < c.rows(); ++r) set.Insert(EventIdHash(c.String(0, r)));
    return Status::OK();
  }));
  return &(ids_[date] = std::move(set));
}

Status HotTier::Append(std::span<const EventView> events,
                       const std::map<PartitionId, Offset>& offsets) {
  if (options_.read_only) return Status::InvalidArgument("hot tier opened read-only");
  if (!staging_) return Status::IOError("hot tier: staging appender unavailable");
  VP_RETURN_IF_ERROR(writer_->Execute("BEGIN TRANSACTION"));
  Status st = AppendLocked(events, offsets);
  if (st.ok()) st = writer_->Execute("COMMIT");
  if (!st.ok()) {
    (void)writer_->Execute("ROLLBACK");
    // A fresh appender: the old one may hold rows of the failed batch.
    staging_.reset();
    (void)writer_->Execute("DELETE FROM staging");
    auto a = DuckAppender::Create(writer_.get(), "", "staging");
    if (a.ok()) staging_ = std::move(a).value();
    ids_.clear();  // they may hold ids of the rolled back batch; reloaded on demand
  }
  return st;
}

Status HotTier::AppendLocked(std::span<const EventView> events,
                             const std::map<PartitionId, Offset>& offsets) {
  const EventDate window = WindowStart();
  Stats delta;
  for (const EventView& e : events) {
    EventDate date = EventDate::OfMs(e.ts_ms);
    if (date < window) {
      ++delta.outside_window;
      continue;
    }
    auto ids = IdsOf(date);
    if (!ids.ok()) return ids.status();
    if (!(*ids)->Insert(EventIdHash(e.event_id))) {
      ++delta.duplicates;
      continue;
    }
    AppendEventColumns(e, staging_.get());
    staging_->Date(date.days);
    VP_RETURN_IF_ERROR(staging_->EndRow());
    ++delta.loaded;
  }
  VP_RETURN_IF_ERROR(staging_->Flush());
  if (delta.loaded > 0) {
    VP_RETURN_IF_ERROR(writer_->Execute(
        "INSERT INTO vp.events SELECT " + LakeSelectFromStaging() + ", event_date FROM staging;" +
        SessionSummaryMergeSql("SELECT " + LakeSelectFromStaging() + " FROM staging") +
        "DELETE FROM staging;"));
  }
  if (!offsets.empty()) {
    std::string sql = "INSERT OR REPLACE INTO vp.offsets VALUES ";
    bool first = true;
    for (const auto& [p, o] : offsets) {
      sql += (first ? "(" : ", (") + std::to_string(p) + ", " + std::to_string(o) + ")";
      first = false;
    }
    VP_RETURN_IF_ERROR(writer_->Execute(sql));
  }
  std::lock_guard<std::mutex> lock(stats_mu_);
  stats_.loaded += delta.loaded;
  stats_.duplicates += delta.duplicates;
  stats_.outside_window += delta.outside_window;
  return Status::OK();
}

Result<std::map<PartitionId, Offset>> HotTier::Offsets() {
  std::map<PartitionId, Offset> out;
  auto res = writer_->Query("SELECT part, next_offset FROM vp.offsets");
  if (!res.ok()) return res.status();
  VP_RETURN_IF_ERROR(res->ForEachChunk([&](const DuckChunk& c) {
    for (size_t r = 0; r < c.rows(); ++r) out[static_cast<PartitionId>(c.Int(0, r))] = c.Int(1, r);
    return Status::OK();
  }));
  return out;
}

Status HotTier::Evict() {
  if (options_.read_only) return Status::OK();
  const EventDate window = WindowStart();
  auto res = writer_->Query("DELETE FROM vp.events WHERE event_date < " +
                            SqlQuote(window.ToString()) + "::DATE");
  if (!res.ok()) return res.status();
  auto n = res->ScalarInt();
  VP_RETURN_IF_ERROR(InTransaction(SessionSummaryEvictSql(window.StartMs() - kSummaryExtraMs)));
  std::erase_if(ids_, [&](const auto& kv) { return kv.first < window; });
  if (n.ok() && *n > 0) {
    spdlog::info("hot tier: evicted {} events of days before {}", *n, window.ToString());
    std::lock_guard<std::mutex> lock(stats_mu_);
    stats_.evicted += static_cast<uint64_t>(*n);
    VP_RETURN_IF_ERROR(writer_->Execute("CHECKPOINT"));
  }
  return Status::OK();
}

Result<std::map<EventDate, int64_t>> HotTier::RowsPerDay() {
  auto conn = Connect();
  if (!conn.ok()) return conn.status();
  auto res = (*conn)->Query("SELECT event_date, count(*) FROM vp.events GROUP BY 1");
  if (!res.ok()) return res.status();
  std::map<EventDate, int64_t> out;
  VP_RETURN_IF_ERROR(res->ForEachChunk([&](const DuckChunk& c) {
    for (size_t r = 0; r < c.rows(); ++r) {
      out[EventDate{static_cast<int32_t>(c.Int(0, r))}] = c.Int(1, r);
    }
    return Status::OK();
  }));
  return out;
}

uint64_t HotTier::SizeBytes() const {
  uint64_t total = 0;
  std::error_code ec;
  for (const std::string& p : {db_->path(), db_->path() + ".wal"}) {
    auto n = fs::file_size(p, ec);
    if (!ec) total += n;
  }
  return total;
}

HotTier::Stats HotTier::stats() const {
  std::lock_guard<std::mutex> lock(stats_mu_);
  return stats_;
}

}  // namespace viewpipe
