#include "sregroup/sre_shard_checkpoints.h"

namespace viewpipe::sre {
namespace {

constexpr uint8_t kSreSectionShard = 33;
constexpr char kSreGroup[] = "sre";

}  // namespace

SreShardCheckpoints::SreShardCheckpoints(ObjectStore* store, Env* env, std::string scratch_dir,
                                         const SreOptions& options, int64_t slice_keep_ms)
    : file_(store, env, std::move(scratch_dir), kSreGroup, kSreSectionShard),
      options_(options),
      slice_keep_ms_(slice_keep_ms) {}

std::string SreShardCheckpoints::Key(PartitionId p) {
  return partgroup::ShardCheckpointFile::Key(kSreGroup, p);
}

std::unique_ptr<PartitionQoe> SreShardCheckpoints::Fresh() const {
  return std::make_unique<PartitionQoe>(options_, slice_keep_ms_);
}

Status SreShardCheckpoints::Save(PartitionId p, const SreShard& s, uint64_t* bytes) {
  return file_.Save(
      p, s.next, s.time,
      [&s](ops::CheckpointWriter* w) { return s.state->Save(w, kSreSectionShard + 1); }, bytes);
}

Result<SreShard> SreShardCheckpoints::Load(PartitionId p) {
  SreShard s;
  auto reader = file_.Open(p, &s.next, &s.time);
  if (!reader.ok()) return reader.status();
  s.state = Fresh();
  VP_RETURN_IF_ERROR(s.state->Load(reader->get(), kSreSectionShard + 1));
  uint8_t kind;
  std::string payload;
  Status end = (*reader)->Next(&kind, &payload);
  if (end.ok() && kind != ops::CheckpointReader::kEnd) {
    end = file_.Damaged(p, ": sections after the state");
  }
  if (!end.ok()) return end;
  return s;
}

}  // namespace viewpipe::sre
