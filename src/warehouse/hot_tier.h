#pragma once
// HotTier: the last `hot_days` days of events (today included) in a DuckDB
// database file, fed continuously by the `hot` consumer group and queried
// by the QueryRouter for recent ranges.
//
// Tables (schema vp): vp.events (the lake's columns + event_date DATE),
// vp.offsets (partition -> next offset) and the session summary
// (vp.sessions, vp.session_exps, vp.summary_meta: session_summary.h; kept
// 7 days longer than the events). Append writes a batch of events, merges
// its sessions into the summary and records the offsets it covers in one
// DuckDB transaction, so the hot tier
// holds each record of the log exactly once across crashes; event_ids
// already in their day are dropped (EventIdSet), as in the lake. Events of
// days before the window are not loaded; Evict deletes days that left it.
//
// The database is locked down for user queries once open: external access
// is off except reading the lake's directory (allowed_directories), and
// the configuration is locked (no SET, ATTACH, INSTALL/LOAD ...).
//
// Thread safety: Append/Evict/Offsets from one thread (the consumer);
// Connect, WindowStart, RowsPerDay, SizeBytes, SummaryCoversFromMs from
// any thread.

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>

#include "common/clock.h"
#include "common/metrics.h"
#include "event/event.h"
#include "lake/duck.h"
#include "lake/event_id_set.h"
#include "lake/lake_time.h"
#include "log/log.h"

namespace viewpipe {

struct HotTierOptions {
  std::string db_path;    // the DuckDB file
  std::string lake_root;  // a directory queries may read (the cold lake); may be empty
  int hot_days = 7;
  Clock* clock = Clock::System();
  MetricsRegistry* metrics = nullptr;
  bool read_only = false;  // tools reading a data dir no server runs on
  int threads = 2;
  std::string memory_limit = "1GB";
};

class HotTier {
 public:
  static Result<std::unique_ptr<HotTier>> Open(const HotTierOptions& options);
  ~HotTier();

  // The oldest day the window holds: today (UTC) - (hot_days - 1).
  EventDate WindowStart() const;
  int hot_days() const { return options_.hot_days; }

  // Loads events (dedup per day; days before the window skipped) and
  // records offsets (may be empty), atomically. On error nothing of the
  // batch is stored.
  Status Append(std::span<const EventView> events, const std::map<PartitionId, Offset>& offsets);
  Result<std::map<PartitionId, Offset>> Offsets();
  // Deletes the days before WindowStart(), and the summaries of sessions
  // that ended more than 7 days before it.
  Status Evict();
  // From when the session summary has every loaded event of each session
  // (session_summary.h).
  Result<int64_t> SummaryCoversFromMs();

  // Rows per day held.
  Result<std::map<EventDate, int64_t>> RowsPerDay();
  // Bytes of the database file and its WAL.
  uint64_t SizeBytes() const;
  // A new connection (one per thread or query).
  Result<std::unique_ptr<DuckConnection>> Connect() { return db_->Connect(); }

  struct Stats {
    uint64_t loaded = 0;
    uint64_t duplicates = 0;
    uint64_t outside_window = 0;
    uint64_t evicted = 0;
  };
  Stats stats() const;

 private:
  explicit HotTier(const HotTierOptions& options) : options_(options) {}
  Status CreateSchema();
  Status LockDown();
  Status CreateSummary();
  Status InTransaction(const std::string& sql);
  Result<EventIdSet*> IdsOf(EventDate date);
  Status AppendLocked(std::span<const EventView> events,
                      const std::map<PartitionId, Offset>& offsets);

  HotTierOptions options_;
  std::unique_ptr<DuckDatabase> db_;
  std::unique_ptr<DuckConnection> writer_;  // the consumer's connection
  std::unique_ptr<DuckAppender> staging_;
  std::map<EventDate, EventIdSet> ids_;
  mutable std::mutex stats_mu_;
  Stats stats_;
};

}  // namespace viewpipe
