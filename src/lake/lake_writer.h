#pragma once
// LakeWriter: events in, committed Parquet partitions out.
//
//   Add(event)          -> buffered in its event-time partition
//                          (events/event_date=D/hour=HH), unless its
//                          event_id is already in day D (then a duplicate)
//   Flush(offsets)      -> one Parquet file per touched hour, committed
//                          with the source offsets (partition_committer.h)
//   Maintain(watermark) -> compaction of closed hours, T+1 sealing
//
// The watermark is processing time: the newest received_at the writer has
// seen (or "now" when the source is caught up). An hour is closed once the
// watermark passes its end + hour_close_ms; a day is sealed once it passes
// the day's end + seal_grace_ms, after its hours are compacted and the
// files compaction replaced are gone. An event for a sealed day is still
// written (a new manifest version) and counted as late, with its lateness
// (received_at minus the day's end).
//
// Not thread safe. On any error the writer is broken: reopen it (the lake
// is consistent on disk; buffered rows are replayed from the source).

#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <string>

#include "common/clock.h"
#include "common/env.h"
#include "common/metrics.h"
#include "common/status.h"
#include "event/event.h"
#include "lake/event_id_set.h"
#include "lake/parquet_writer.h"
#include "lake/partition_committer.h"

namespace viewpipe {

// The source position a writer that shares the lake commits with its rows
// (only its own partitions; see LakeCommit).
struct SourcePosition {
  std::map<PartitionId, Offset> offsets;  // partitions that advanced: their new offsets
  std::map<PartitionId, Offset> from;     // ... and where this writer's rows of them start
  std::map<PartitionId, int64_t> watermarks;  // every partition the writer owns
};

struct LakeWriterOptions {
  ObjectStore* store = nullptr;  // not owned
  Env* env = Env::Default();     // for the writer lock; not owned
  std::string lock_path;         // empty: no lock (tests)
  Clock* clock = Clock::System();
  MetricsRegistry* metrics = nullptr;
  ParquetWriterOptions parquet;
  int64_t max_buffer_rows = 1000000;  // flush early past this many buffered rows
  // Compaction: an hour with min_files_to_compact files or more is merged
  // once closed, into files of up to target_file_bytes whose row groups
  // hold compact_row_group_rows rows.
  int min_files_to_compact = 2;
  uint64_t target_file_bytes = 256ull << 20;
  int64_t compact_row_group_rows = 1000000;
  int64_t hour_close_ms = 10 * 60 * 1000;
  int64_t seal_grace_ms = 2 * 3600 * 1000;
  int64_t tombstone_grace_ms = 60 * 1000;
  size_t max_id_days = 12;  // day id sets kept in memory (reloaded on demand)
  // Recovery keeps staged uploads no commit names yet while they are
  // younger than this: they may be another live writer's (an S3 lake can
  // have writers on other machines; the lock file is local).
  int64_t staging_grace_ms = 3600 * 1000;
  // Several writers (processes) share the lake, each writing the
  // partitions it owns (docs/scale.md): no lock file; compaction and
  // sealing run only in the maintainer (set_maintainer) and a day is sealed
  // once the watermarks of all source_partitions in the root passed it.
  bool shared = false;
  int source_partitions = 0;
  CommitProbe probe;
};

class LakeWriter {
 public:
  // Takes the lock, recovers the lake (PartitionCommitter::Recover).
  static Result<std::unique_ptr<LakeWriter>> Open(const LakeWriterOptions& options);
  ~LakeWriter();

  // Buffers e (received_at_ms set). False when its event_id is already in
  // its day partition (committed or buffered): a duplicate, dropped.
  Result<bool> Add(const EventView& e);
  int64_t buffered_rows() const { return parquet_->rows(); }
  // Writes and commits the buffered rows; offsets (may be null: unchanged)
  // are the source positions the lake then covers.
  Status Flush(const std::map<PartitionId, Offset>* offsets);
  // Shared lake: writes and commits the buffered rows with pos (fenced:
  // a CommitConflict when another writer advanced one of pos.offsets'
  // partitions from pos.from). No-op when nothing changed.
  Status FlushShared(const SourcePosition& pos);
  // Shared lake: re-reads the newest root (other writers' commits) and
  // forgets the event ids of days with nothing buffered (reloaded from the
  // newest manifests on demand). Flush first.
  Status Refresh();
  // Shared lake: whether this writer compacts and seals.
  void set_maintainer(bool on) { maintainer_ = on; }
  // Backfill: commits the buffered rows of date and seals it in one commit,
  // marking the day as written by backfill run `seed`.
  Status FlushAndSeal(EventDate date, uint64_t seed);
  // Before the process ends: deletes the files compaction replaced without
  // waiting for their grace (no query can still use them).
  Status Close() { return committer_.CollectGarbage(true); }
  // Advances the watermark and runs due compaction and sealing.
  Status Maintain(int64_t watermark_ms);
  // Compacts the hours of date that have min_files_to_compact files or more.
  Status CompactDay(EventDate date);
  // Seals date now (its buffered rows must have been flushed).
  Status SealDay(EventDate date, uint64_t backfill_seed = 0);
  // Deletes removed files whose grace passed (also called by Maintain).
  Status CollectGarbage() { return committer_.CollectGarbage(); }

  const RootManifest& root() const { return committer_.root(); }
  PartitionCommitter* committer() { return &committer_; }
  int64_t watermark_ms() const { return watermark_ms_; }

  struct Stats {
    uint64_t added = 0;
    uint64_t duplicates = 0;
    uint64_t late_after_seal = 0;
    uint64_t files_written = 0;
    uint64_t bytes_written = 0;
    uint64_t commits = 0;
    uint64_t compactions = 0;
    uint64_t seals = 0;
  };
  const Stats& stats() const { return stats_; }

 private:
  explicit LakeWriter(const LakeWriterOptions& options);
  Result<EventIdSet*> IdsOf(EventDate date);
  Status FlushWith(LakeCommit c);
  // The watermark that closes hours and seals days: this writer's, or in a
  // shared lake the slowest partition's.
  int64_t CloseWatermark() const;
  Status Upload(const std::vector<WrittenFile>& files, const std::string& name,
                std::vector<StagedFile>* staged);
  Status Probe(std::string_view step) {
    return options_.probe ? options_.probe(step) : Status::OK();
  }

  LakeWriterOptions options_;
  std::unique_ptr<FileLock> lock_;
  PartitionCommitter committer_;
  std::unique_ptr<ParquetWriter> parquet_;
  std::map<EventDate, EventIdSet> ids_;
  std::list<EventDate> ids_lru_;               // front: most recently used
  std::map<EventDate, int64_t> buffered_days_;  // rows buffered per day
  std::map<EventDate, LateReport> late_;        // buffered late rows per sealed day
  int64_t watermark_ms_ = 0;
  bool maintainer_ = false;
  int64_t last_refresh_ms_ = 0;
  Stats stats_;
  Counter* m_added_ = nullptr;
  Counter* m_duplicates_ = nullptr;
  Counter* m_late_ = nullptr;
  Counter* m_bytes_ = nullptr;
  Counter* m_commits_ = nullptr;
};

}  // namespace viewpipe
