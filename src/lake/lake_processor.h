#pragma once
// LakeProcessor: the `lake` consumer path (consumer group "lake" on
// `viewing`) as a Processor for the ConsumerRunner.
//
//   Restore()    (re)opens the LakeWriter (recovering the lake) and returns
//                the offsets the root manifest records, so the runner
//                replays exactly what the lake does not hold yet
//   Process()    decodes and buffers; flushes early past max_buffer_rows
//   Checkpoint() flushes and commits files + offsets in one step, then
//                compacts and seals what is due (the runner's
//                checkpoint_interval is the lake's roll interval)
//   Idle()       caught up: the watermark becomes now - idle_lag_ms
//
// With writer_options.shared, several processes share the group's
// partitions and write one lake (docs/scale.md): each owns the partitions
// the group gives it (Reassign), reads each gained one from the offset the
// lake's newest root records, and commits only its own partitions' offsets
// and watermarks, fenced (a commit advances a partition only from where
// this process's rows of it start). Before giving partitions up it commits
// what it buffered. The owner of partition 0 compacts and seals.
//
// Thread safety: called on the runner's thread; stats() from any thread.

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <vector>

#include "lake/lake_writer.h"
#include "stream/consumer_runner.h"

namespace viewpipe {

struct LakeProcessorStats {
  LakeWriter::Stats writer;
  RootManifest root;  // as of the last commit
  int64_t watermark_ms = 0;
  uint64_t corrupt_records = 0;
};

class LakeProcessor final : public Processor {
 public:
  // log and clock must outlive the processor. writer_options.store too.
  LakeProcessor(Log* log, std::string topic, LakeWriterOptions writer_options,
                int64_t idle_lag_ms = 5000);
  ~LakeProcessor() override;

  Result<std::map<PartitionId, Offset>> Restore() override;
  Status Process(std::span<const ConsumedRecord> records) override;
  Status Checkpoint(const std::map<PartitionId, Offset>& next_offsets) override;
  void Idle() override;
  bool PerPartitionState() const override { return options_.shared; }
  Result<std::map<PartitionId, Offset>> Reassign(const std::vector<PartitionId>& lost,
                                                 const std::vector<PartitionId>& gained) override;

  // The error Idle() hit (the runner learns of it at the next Process or
  // Checkpoint); OK otherwise.
  Status idle_error() const;
  LakeProcessorStats stats() const;
  // Closes the writer (releasing the lake's lock).
  void Close();

 private:
  Status Maintain();
  void Snapshot();
  // Shared: commits buffered rows, offsets and watermarks of the owned
  // partitions.
  Status FlushOwned();

  Log* log_;
  std::string topic_;
  LakeWriterOptions options_;
  int64_t idle_lag_ms_;
  std::unique_ptr<LakeWriter> writer_;
  std::map<PartitionId, Offset> next_;
  // Shared: the partitions owned, where the lake has each (the last
  // commit), and each one's watermark.
  std::set<PartitionId> owned_;
  std::map<PartitionId, Offset> committed_;
  std::map<PartitionId, int64_t> watermarks_;
  int64_t last_watermark_commit_ms_ = 0;
  Gauge* m_owned_ = nullptr;
  int64_t watermark_ms_ = 0;
  uint64_t corrupt_ = 0;
  int64_t last_maintain_us_ = 0;
  mutable std::mutex mu_;
  Status idle_error_;
  LakeProcessorStats snapshot_;
};

}  // namespace viewpipe
