#pragma once
// FeatureProcessor: the streaming updater (consumer group "features" on
// `viewing`). Each polled batch is folded (FeatureFold) into the states of
// the profiles and titles it touches, read from the FeatureStore, and the new
// states are written back in ONE store batch together with the offsets the
// batch reaches. So after a kill -9 the store holds exactly the fold of the
// records before its offsets, and Restore() resumes there: features equal a
// from-scratch recomputation (tests/e2e/test_features.py).
//
// The catalog file is (re)loaded when it appears (looked for before every
// batch until it does) or changes (checked every 2 s): a missing file or bad rows never stop the
// updater; events of titles it lacks count with genre "unknown"
// (viewpipe_features_catalog_misses_total). Runs on the runner's thread only.
//
// Partitioned (a store shared by several processes of the group, e.g.
// Redis; docs/scale.md): the processor keeps a PARTIAL state per (profile
// or title, partition) (FeatureKey::partition, merged at read time by
// feature_merge.h), only for the partitions the group gave it, reads each
// gained partition's offset from the store and writes every batch fenced on
// the offsets it last read or wrote (FeatureBatch::expected_offsets): a
// batch of a process that lost a partition and did not notice yet is
// refused whole, and the path stops with the "fenced:" error (its
// supervisor restarts it, which re-reads the store), so no record is ever
// applied twice to the states that are read.

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include "common/clock.h"
#include "common/metrics.h"
#include "features/catalog_table.h"
#include "features/feature_state.h"
#include "features/feature_store.h"
#include "stream/consumer_runner.h"

namespace viewpipe::features {

inline constexpr int64_t kSessionMarkRetentionMs = 8LL * 24 * 3600 * 1000;

class FeatureProcessor final : public Processor {
 public:
  // store, clock, metrics (may be null) outlive the processor. catalog_path
  // may be empty (every genre "unknown").
  FeatureProcessor(FeatureStore* store, std::string catalog_path, Clock* clock,
                   MetricsRegistry* metrics, bool partitioned = false);

  Result<std::map<PartitionId, Offset>> Restore() override;
  bool PerPartitionState() const override { return partitioned_; }
  Result<std::map<PartitionId, Offset>> Reassign(const std::vector<PartitionId>& lost,
                                                 const std::vector<PartitionId>& gained) override;
  Status Process(std::span<const ConsumedRecord> records) override;
  void Idle() override;
  // Deletes session marks whose newest event is older than
  // kSessionMarkRetentionMs before now (the collector rejects events older
  // than 7 days, so such a session gets no event that could need its mark).
  // Returns how many were deleted. Called from Idle about once an hour.
  Result<int64_t> SweepSessionMarks();

  const CatalogTable& catalog() const { return catalog_; }

 private:
  // (partition or kWholeState, id): the key of a working state.
  using StateKey = std::pair<PartitionId, std::string>;

  void MaybeReloadCatalog();
  Status LoadStates(std::span<const ConsumedRecord> records);
  Status Fence(std::span<const ConsumedRecord> records, FeatureBatch* batch) const;

  FeatureStore* store_;
  std::string catalog_path_;
  Clock* clock_;
  CatalogTable catalog_;
  bool catalog_loaded_ = false;
  std::filesystem::file_time_type catalog_mtime_{};
  uintmax_t catalog_size_ = 0;
  std::chrono::steady_clock::time_point next_catalog_check_{};
  std::chrono::steady_clock::time_point next_sweep_{};
  bool partitioned_;
  std::map<PartitionId, Offset> next_;
  // Partitioned: the owned partitions -> their offset in the store as this
  // process last read or wrote it (nullopt: none).
  std::map<PartitionId, std::optional<Offset>> fence_;
  std::map<StateKey, ProfileState> profiles_;  // the batch's working set
  std::map<StateKey, TitleState> titles_;
  std::map<std::string, SessionMark> sessions_;  // by SessionKeyId
  Counter* events_ = nullptr;
  Counter* bad_records_ = nullptr;
  Counter* catalog_misses_ = nullptr;
  Gauge* catalog_bad_rows_ = nullptr;
  Gauge* catalog_titles_ = nullptr;
  Gauge* partitions_owned_ = nullptr;
};

}  // namespace viewpipe::features
