#include "features/feature_processor.h"

#include <spdlog/spdlog.h>

#include "event/codec.h"
#include "features/feature_fold.h"

namespace viewpipe::features {
namespace {

constexpr auto kCatalogCheckEvery = std::chrono::seconds(2);

void AddPut(FeatureBatch* batch, FeatureKind kind, const std::string& id, std::string value,
            PartitionId partition = kWholeState) {
  batch->puts.push_back(MakePut(kind, id, std::move(value)));
  batch->puts.back().key.partition = partition;
}

FeatureKey KeyOf(FeatureKind kind, PartitionId partition, const std::string& id) {
  FeatureKey k{kind, id};
  k.partition = partition;
  return k;
}

}  // namespace

FeatureProcessor::FeatureProcessor(FeatureStore* store, std::string catalog_path, Clock* clock,
                                   MetricsRegistry* metrics, bool partitioned)
    : store_(store),
      catalog_path_(std::move(catalog_path)),
      clock_(clock),
      partitioned_(partitioned) {
  if (metrics == nullptr) return;
  partitions_owned_ = metrics->GetGauge(
      "viewpipe_features_partitions_owned",
      "Partitions of viewing this features process folds (partitioned store)");
  events_ = metrics->GetCounter("viewpipe_features_events_total",
                                "Events folded into the online features");
  bad_records_ = metrics->GetCounter("viewpipe_features_bad_records_total",
                                     "Log records the features path could not decode (skipped)");
  catalog_misses_ =
      metrics->GetCounter("viewpipe_features_catalog_misses_total",
                          "Events whose title is not in the catalog (counted with genre unknown)");
  catalog_bad_rows_ = metrics->GetGauge("viewpipe_features_catalog_bad_rows",
                                        "Catalog rows that could not be parsed (skipped)");
  catalog_titles_ = metrics->GetGauge("viewpipe_features_catalog_titles", "Titles in the catalog");
}

void FeatureProcessor::MaybeReloadCatalog() {
  // Until a catalog is loaded every batch looks for it: `viewpipe demo`
  // starts the server first and the simulator writes the catalog before it
  // sends its first event, so no event is folded without it.
  const auto now = std::chrono::steady_clock::now();
  if (catalog_path_.empty() || (catalog_loaded_ && now < next_catalog_check_)) return;
  next_catalog_check_ = now + kCatalogCheckEvery;
  std::error_code ec;
  const auto mtime = std::filesystem::last_write_time(catalog_path_, ec);
  if (ec) return;  // not there (yet)
  const uintmax_t size = std::filesystem::file_size(catalog_path_, ec);
  if (ec || (mtime == catalog_mtime_ && size == catalog_size_)) return;
  auto loaded = CatalogTable::Load(catalog_path_);
  if (!loaded.ok()) {
    spdlog::warn("features: catalog {}: {}", catalog_path_, loaded.status().ToString());
    return;
  }
  catalog_ = std::move(loaded).value();
  catalog_loaded_ = true;
  catalog_mtime_ = mtime;
  catalog_size_ = size;
  if (catalog_bad_rows_) catalog_bad_rows_->Set(static_cast<double>(catalog_.bad_rows()));
  if (catalog_titles_) catalog_titles_->Set(static_cast<double>(catalog_.size()));
  spdlog::info("features: catalog {} loaded: {} titles, {} bad rows skipped", catalog_path_,
               catalog_.size(), catalog_.bad_rows());
}

void FeatureProcessor::Idle() {
  MaybeReloadCatalog();
  const auto now = std::chrono::steady_clock::now();
  if (now < next_sweep_) return;
  next_sweep_ = now + std::chrono::hours(1);
  auto swept = SweepSessionMarks();
  if (!swept.ok()) {
    spdlog::warn("features: session mark sweep: {}", swept.status().ToString());
  } else if (*swept > 0) {
    spdlog::info("features: deleted {} session marks older than 8 days", *swept);
  }
}

Result<int64_t> FeatureProcessor::SweepSessionMarks() {
  const int64_t cutoff = clock_->NowMs() - kSessionMarkRetentionMs;
  FeatureBatch batch;
  SessionMark m;
  VP_RETURN_IF_ERROR(
      store_->Scan(FeatureKind::kSession, [&](std::string_view id, std::string_view value) {
        if (DecodeSessionMark(value, &m).ok() && m.ts < cutoff) {
          batch.deletes.push_back(MakePut(FeatureKind::kSession, std::string(id), "").key);
        }
        return true;
      }));
  if (!batch.deletes.empty()) VP_RETURN_IF_ERROR(store_->Write(batch));
  return static_cast<int64_t>(batch.deletes.size());
}

Result<std::map<PartitionId, Offset>> FeatureProcessor::Restore() {
  next_catalog_check_ = {};
  MaybeReloadCatalog();
  if (partitioned_) {  // a (re)start: Reassign reads each gained partition's offset
    fence_.clear();
    next_.clear();
    if (partitions_owned_) partitions_owned_->Set(0);
    return std::map<PartitionId, Offset>{};
  }
  auto offsets = store_->Offsets();
  if (!offsets.ok()) return offsets.status();
  next_ = *offsets;
  return next_;
}

Result<std::map<PartitionId, Offset>> FeatureProcessor::Reassign(
    const std::vector<PartitionId>& lost, const std::vector<PartitionId>& gained) {
  if (!partitioned_) return Processor::Reassign(lost, gained);
  for (PartitionId p : lost) {
    fence_.erase(p);
    next_.erase(p);
  }
  auto stored = store_->Offsets();  // read now: the last owner's last batch is in
  if (!stored.ok()) return stored.status();
  std::map<PartitionId, Offset> from;
  for (PartitionId p : gained) {
    auto it = stored->find(p);
    fence_[p] = it == stored->end() ? std::nullopt : std::optional<Offset>(it->second);
    // No offset: nothing of p was ever written; read it from the start of
    // the log (not from this consumer's position, which may be past records
    // it polled while the partition was someone else's).
    from[p] = next_[p] = it == stored->end() ? 0 : it->second;
  }
  if (partitions_owned_) partitions_owned_->Set(static_cast<double>(fence_.size()));
  spdlog::info("features: partitions lost {}, gained {}: {} owned", lost.size(), gained.size(),
               fence_.size());
  return from;
}

// The batch's fence: each of its partitions' offsets as last read or written.
Status FeatureProcessor::Fence(std::span<const ConsumedRecord> records, FeatureBatch* batch) const {
  if (!partitioned_) return Status::OK();
  for (const ConsumedRecord& r : records) {
    auto it = fence_.find(r.partition);
    if (it == fence_.end()) {
      return Status::Aborted("features: a record of partition " + std::to_string(r.partition) +
                             ", which this process does not own");
    }
    batch->expected_offsets[r.partition] = it->second;
  }
  return Status::OK();
}

Status FeatureProcessor::LoadStates(std::span<const ConsumedRecord> records) {
  profiles_.clear();
  titles_.clear();
  sessions_.clear();
  EventView e;
  DecodedIds ids;
  for (const ConsumedRecord& r : records) {
    if (!DecodeEvent(r.value, &e, &ids).ok()) continue;
    const PartitionId part = partitioned_ ? r.partition : kWholeState;
    profiles_.try_emplace(StateKey(part, e.profile_id));
    titles_.try_emplace(StateKey(part, e.title_id));
    sessions_.try_emplace(SessionKeyId(e.title_id, e.session_id));
  }
  std::vector<FeatureKey> keys;
  keys.reserve(profiles_.size() + titles_.size() + sessions_.size());
  for (const auto& [k, s] : profiles_) {
    keys.push_back(KeyOf(FeatureKind::kProfile, k.first, k.second));
  }
  for (const auto& [k, s] : titles_) keys.push_back(KeyOf(FeatureKind::kTitle, k.first, k.second));
  for (const auto& [id, s] : sessions_) {
    keys.push_back(KeyOf(FeatureKind::kSession, kWholeState, id));
  }
  auto values = store_->MultiGet(keys);
  if (!values.ok()) return values.status();
  size_t i = 0;
  for (auto& [id, s] : profiles_) {
    const auto& v = (*values)[i++];
    if (v) VP_RETURN_IF_ERROR(DecodeProfileState(*v, &s));
  }
  for (auto& [id, s] : titles_) {
    const auto& v = (*values)[i++];
    if (v) VP_RETURN_IF_ERROR(DecodeTitleState(*v, &s));
  }
  for (auto& [id, s] : sessions_) {
    const auto& v = (*values)[i++];
    if (v) VP_RETURN_IF_ERROR(DecodeSessionMark(*v, &s));
  }
  return Status::OK();
}

Status FeatureProcessor::Process(std::span<const ConsumedRecord> records) {
  MaybeReloadCatalog();
  FeatureBatch batch;
  VP_RETURN_IF_ERROR(Fence(records, &batch));
  VP_RETURN_IF_ERROR(LoadStates(records));
  const FeatureFold fold(&catalog_);
  EventView e;
  DecodedIds ids;
  uint64_t folded = 0, bad = 0, misses = 0;
  for (const ConsumedRecord& r : records) {
    Offset& next = next_[r.partition];
    next = std::max(next, r.offset + 1);
    batch.offsets[r.partition] = next;
    if (!DecodeEvent(r.value, &e, &ids).ok()) {
      ++bad;
      continue;
    }
    const PartitionId part = partitioned_ ? r.partition : kWholeState;
    fold.ApplyToProfile(e, &profiles_[StateKey(part, e.profile_id)]);
    fold.ApplyToTitle(e, &sessions_[SessionKeyId(e.title_id, e.session_id)],
                      &titles_[StateKey(part, e.title_id)]);
    misses += fold.MissesCatalog(e) ? 1 : 0;
    ++folded;
  }
  const int64_t now = clock_->NowMs();
  batch.puts.reserve(profiles_.size() + titles_.size() + sessions_.size());
  for (auto& [k, s] : profiles_) {
    s.updated_at_ms = now;
    AddPut(&batch, FeatureKind::kProfile, k.second, EncodeProfileState(s), k.first);
  }
  for (auto& [k, s] : titles_) {
    s.updated_at_ms = now;
    AddPut(&batch, FeatureKind::kTitle, k.second, EncodeTitleState(s), k.first);
  }
  for (const auto& [id, s] : sessions_) {
    AddPut(&batch, FeatureKind::kSession, id, EncodeSessionMark(s));
  }
  VP_RETURN_IF_ERROR(store_->Write(batch));
  for (const auto& [p, o] : batch.offsets) {
    if (partitioned_) fence_[p] = o;
  }
  if (events_) events_->Inc(folded);
  if (bad_records_ && bad > 0) bad_records_->Inc(bad);
  if (catalog_misses_ && misses > 0) catalog_misses_->Inc(misses);
  return Status::OK();
}

}  // namespace viewpipe::features
