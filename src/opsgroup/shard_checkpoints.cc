#include "opsgroup/shard_checkpoints.h"

namespace viewpipe::ops {
namespace {

constexpr uint8_t kSectionShard = 17;
constexpr char kOpsGroup[] = "ops";

}  // namespace

ShardCheckpoints::ShardCheckpoints(ObjectStore* store, Env* env, std::string scratch_dir,
                                   const TrackerOptions& options)
    : file_(store, env, std::move(scratch_dir), kOpsGroup, kSectionShard), options_(options) {}

std::string ShardCheckpoints::Key(PartitionId p) {
  return partgroup::ShardCheckpointFile::Key(kOpsGroup, p);
}

std::unique_ptr<SessionTracker> ShardCheckpoints::Fresh() const {
  return std::make_unique<SessionTracker>(options_);
}

Status ShardCheckpoints::Save(PartitionId p, const Shard& s, uint64_t* bytes) {
  return file_.Save(
      p, s.next, s.time, [&s](CheckpointWriter* w) { return s.state->Save(w); }, bytes);
}

Result<Shard> ShardCheckpoints::Load(PartitionId p) {
  Shard s;
  auto reader = file_.Open(p, &s.next, &s.time);
  if (!reader.ok()) return reader.status();
  s.state = Fresh();
  VP_RETURN_IF_ERROR(s.state->Load(reader->get()));
  return s;
}

}  // namespace viewpipe::ops
