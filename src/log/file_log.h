#pragma once
// FileLog: the embedded, durable implementation of Log (log.h).
//
// Layout under options.dir:
//   LOCK                                   flock'd by the one writer process
//   <topic>/<partition>/<base:020>.log     record batches (record_batch.h)
//   <topic>/<partition>/<base:020>.index   sparse index (segment_index.h)
//   groups/<group>/<topic>                 committed offsets (offset_store.h)
//
// Append encodes one batch per partition touched and hands them to the
// GroupCommitter (group_committer.h), which also documents what happens when
// a write or an fsync fails. It returns once the records are fdatasync'd.
// Consumers and PartitionReaders only ever see fdatasync'd records.
// Append's errors: Unavailable (max_pending_bytes reached: retry later),
// NoSpace (free space under min_free_bytes, nothing written; or the disk
// filled during the write, which was cut back), IOError (a write failed, or
// an fsync failed and the log takes no more appends until reopened; see
// Health), InvalidArgument (unknown topic or partition, too large), Aborted
// (log closing). On any error none of the records counts as accepted.
//
// Open as a writer recovers every partition (partition.h): the last segment
// of each is checked batch by batch and a torn or corrupt tail is cut; the
// RecoveryReport says what was cut. Open with read_only changes nothing on
// disk and takes no lock: tools can inspect a log another process writes.
// A read-only FileLog is a snapshot of the ends as of Open. It cannot see
// the writer's fsyncs: it takes every complete, valid batch in the files,
// which may include the group being fsync'd at that moment; a tail being
// written shows up as a "torn" tail in its report and is left alone.
//
// Retention runs when the owner calls EnforceRetention (say once a minute).
//
// Thread safety: all methods are thread safe. Consumers and readers must be
// destroyed before the FileLog.

#include <array>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/env.h"
#include "common/metrics.h"
#include "log/durable_signal.h"
#include "log/group_committer.h"
#include "log/log.h"
#include "log/log_metrics.h"
#include "log/offset_store.h"
#include "log/partition.h"
#include "log/partition_reader.h"
#include "log/recovery_report.h"

namespace viewpipe {

// Topics and partition counts of a default viewpipe log.
inline constexpr std::array<std::pair<std::string_view, int>, 3> kDefaultTopicPartitions = {{
    {kTopicViewing, 4},
    {kTopicQoe, 2},
    {kTopicDeadLetters, 1},
}};
std::map<std::string, int> DefaultTopics();

struct FileLogOptions {
  std::string dir;
  Env* env = Env::Default();           // not owned
  Clock* clock = Clock::System();      // not owned; drives time-based retention
  MetricsRegistry* metrics = nullptr;  // not owned; may be null
  // Topic name -> partition count. A topic's count cannot change once it has
  // data (keys would move). Ignored by a read-only open (it reads the disk).
  std::map<std::string, int> topics = DefaultTopics();
  uint64_t segment_bytes = 128ull << 20;  // roll the active segment past this
  uint64_t index_interval_bytes = 4096;
  int64_t retention_ms = 7LL * 24 * 3600 * 1000;  // by segment max timestamp; -1: off
  int64_t retention_bytes = -1;                   // per partition; -1: off
  // Bytes queued or being written; an Append beyond it fails at once with
  // Unavailable ("buffer full") instead of waiting.
  uint64_t max_pending_bytes = 64ull << 20;
  // Append fails with NoSpace, writing nothing, when the disk has less free.
  uint64_t min_free_bytes = 64ull << 20;
  // Extra threads that fdatasync the partition files of a group in parallel
  // with the leader (0: one after the other). Parallel fsyncs of 4 files
  // roughly doubled throughput on the dev box (see log_bench.cc).
  int sync_threads = 3;
  bool read_only = false;
  // Page cache kept per partition behind its write head; older durable bytes
  // are dropped from it after each fsync (PartitionOptions). 0: the kernel
  // decides.
  uint64_t page_cache_bytes = 0;
};

class FileLog final : public Log {
 public:
  // Opens (creating if needed) the log in options.dir and recovers it. A
  // second writer on the same dir fails with IOError ("locked"). report, when
  // given, receives what recovery found.
  static Result<std::unique_ptr<FileLog>> Open(const FileLogOptions& options,
                                               RecoveryReport* report = nullptr);
  ~FileLog() override;

  // Log.
  int Partitions(std::string_view topic) const override;
  Status Append(std::span<const ProduceRecord> records,
                std::vector<Offset>* offsets = nullptr) override;
  Offset StartOffset(std::string_view topic, PartitionId p) const override;
  Offset EndOffset(std::string_view topic, PartitionId p) const override;
  Result<std::unique_ptr<Consumer>> Subscribe(std::string_view group,
                                              std::string_view topic) override;
  Result<std::map<PartitionId, Offset>> Committed(std::string_view group,
                                                  std::string_view topic) const override;
  Result<std::unique_ptr<RecordReader>> NewReader(std::string_view topic, PartitionId p,
                                                  Offset from) const override;
  std::vector<GroupLag> Lags() const override;
  uint64_t SizeBytes() const override;

  // NewReader with the concrete type (Seek, position, skipped count).
  Result<std::unique_ptr<PartitionReader>> NewPartitionReader(std::string_view topic, PartitionId p,
                                                              Offset from) const;
  // Deletes closed segments past retention_ms / retention_bytes. Consumers
  // positioned before the new start jump to it and count the records in
  // viewpipe_log_retention_skipped_records_total. Returns segments deleted.
  Result<int> EnforceRetention();
  // OK, or the error that stopped appends (a failed fsync) until reopened.
  Status Health() const;
  // Topic names and partition counts of this log.
  std::map<std::string, int> Topics() const;

  // Used by the consumer.
  Status CommitOffsets(const std::string& group, const std::string& topic,
                       const std::map<PartitionId, Offset>& next_offsets);
  DurableSignal* durable_signal() { return &signal_; }
  Counter* SkippedCounter(const std::string& group, const std::string& topic) const;

 private:
  struct Topic {
    std::string name;
    int first = 0;  // index of partition 0 in partitions_
    int count = 0;
  };
  // Lets metric samplers, which the registry keeps after this log is gone,
  // reach the log while it lives and nothing afterwards.
  struct SamplerGuard {
    std::mutex mu;
    const FileLog* log = nullptr;
  };

  explicit FileLog(const FileLogOptions& options);
  Status OpenTopics(RecoveryReport* report);
  Status DiscoverTopics();
  void StartCommitter();
  // Partition directories 0..n-1 under topic_dir: n, 0 when none, -1 on a gap.
  int PartitionsOnDisk(const std::string& topic_dir) const;
  void RegisterMetrics();
  // Adds a gauge sampled from this log at render time (empty once closed).
  void AddSampler(const char* name, const char* help,
                  std::function<std::vector<std::pair<Labels, double>>(const FileLog&)> sample);
  const Topic* FindTopic(std::string_view name) const;
  const Partition* FindPartition(std::string_view topic, PartitionId p) const;
  Status Route(std::span<const ProduceRecord> records);

  const FileLogOptions options_;
  std::unique_ptr<FileLock> lock_;
  std::vector<Topic> topics_;
  std::vector<std::unique_ptr<Partition>> partitions_;
  DurableSignal signal_;
  LogMetrics metrics_;
  std::unique_ptr<OffsetStore> offsets_;
  std::unique_ptr<GroupCommitter> committer_;
  std::shared_ptr<SamplerGuard> sampler_guard_;
};

}  // namespace viewpipe
