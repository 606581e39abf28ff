#pragma once
// FileLogConsumer: a Consumer (log.h) of one group over all partitions of
// one topic of a FileLog. Poll reads the partitions round robin, at most one
// chunk per partition per call, so a busy partition cannot starve the
// others; when none has durable data past the position it waits on the
// log's DurableSignal (woken by every group commit).
//
// Corruption: a partition whose reader meets a corrupt batch stops there.
// The Poll that meets it returns Corruption (naming the place) once; later
// Polls serve the other partitions, and the stopped partition's lag grows
// until Seek moves it. Nothing is skipped silently.
//
// Thread safety: one thread at a time. Must be destroyed before the FileLog.

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "log/log.h"
#include "log/partition_reader.h"

namespace viewpipe {

class FileLog;

class FileLogConsumer final : public Consumer {
 public:
  FileLogConsumer(FileLog* log, std::string group, std::string topic,
                  std::vector<std::unique_ptr<PartitionReader>> readers);

  Result<std::vector<ConsumedRecord>> Poll(size_t max_records,
                                           std::chrono::milliseconds timeout) override;
  Status Commit(const std::map<PartitionId, Offset>& next_offsets) override;
  std::vector<PartitionId> Assignment() const override;
  Status Seek(PartitionId p, Offset offset) override;

  // The next offset this consumer reads in partition p (-1 if not assigned).
  Offset Position(PartitionId p) const;

 private:
  // One round over the partitions, into records_. A reader's error goes to
  // pending_error_ (once) and the reader is skipped until Seek.
  void ReadRound(size_t max_records);

  FileLog* const log_;
  const std::string group_;
  const std::string topic_;
  std::vector<std::unique_ptr<PartitionReader>> readers_;
  std::vector<bool> reported_;  // reader's current error already taken
  Status pending_error_;        // to return from a Poll without records
  size_t next_reader_ = 0;
  std::vector<ConsumedRecord> records_;
};

}  // namespace viewpipe
