#include "opsgroup/shard_checkpoints.h"

#include <unistd.h>

#include "ops/bytes.h"
#include "ops/checkpoint_file.h"

namespace viewpipe::ops {
namespace {

constexpr uint8_t kSectionShard = 17;

}  // namespace

ShardCheckpoints::ShardCheckpoints(ObjectStore* store, Env* env, std::string scratch_dir,
                                   const TrackerOptions& options)
    : store_(store), env_(env), scratch_dir_(std::move(scratch_dir)), options_(options) {}

std::string ShardCheckpoints::Key(PartitionId p) {
  return "ops/partitions/" + std::to_string(p) + "/checkpoint";
}

std::string ShardCheckpoints::Scratch(PartitionId p, const char* what) const {
  return JoinPath(scratch_dir_, std::string(what) + "-" + std::to_string(p) + "-" +
                                    std::to_string(::getpid()));
}

Status ShardCheckpoints::Save(PartitionId p, const Shard& s, uint64_t* bytes) {
  VP_RETURN_IF_ERROR(env_->CreateDirs(scratch_dir_));
  const std::string path = Scratch(p, "save");
  auto writer = CheckpointWriter::Create(env_, path);
  if (!writer.ok()) return writer.status();
  std::string section;
  bytes::PutVarint(&section, static_cast<uint64_t>(p));
  bytes::PutVarint(&section, static_cast<uint64_t>(s.next));
  bytes::PutSigned(&section, s.time);
  VP_RETURN_IF_ERROR((*writer)->Section(kSectionShard, section));
  VP_RETURN_IF_ERROR(s.tracker->Save(writer->get()));
  VP_RETURN_IF_ERROR((*writer)->Commit());
  if (bytes != nullptr) *bytes = (*writer)->bytes();
  Status st = store_->PutFile(Key(p), path, nullptr);
  env_->RemoveFile(path);
  return st;
}

Result<Shard> ShardCheckpoints::Load(PartitionId p) {
  auto data = store_->Get(Key(p));
  if (!data.ok()) return data.status();
  VP_RETURN_IF_ERROR(env_->CreateDirs(scratch_dir_));
  const std::string path = Scratch(p, "load");
  VP_RETURN_IF_ERROR(env_->WriteFileAtomic(path, *data));
  auto reader = CheckpointReader::Open(env_, path);
  env_->RemoveFile(path);  // the open file stays readable
  if (!reader.ok()) return reader.status();
  uint8_t kind;
  std::string payload;
  VP_RETURN_IF_ERROR((*reader)->Next(&kind, &payload));
  std::string_view in = payload;
  uint64_t partition, next;
  Shard s;
  if (kind != kSectionShard || !bytes::GetCount(&in, INT32_MAX, &partition) ||
      !bytes::GetCount(&in, INT64_MAX, &next) || !bytes::GetSigned(&in, &s.time) ||
      !in.empty()) {
    return Status::Corruption("ops shard checkpoint " + Key(p) + ": bad shard section");
  }
  if (static_cast<PartitionId>(partition) != p) {
    return Status::Corruption("ops shard checkpoint " + Key(p) + " is of partition " +
                              std::to_string(partition));
  }
  s.next = static_cast<Offset>(next);
  s.tracker = std::make_unique<SessionTracker>(options_);
  VP_RETURN_IF_ERROR(s.tracker->Load(reader->get()));
  return s;
}

}  // namespace viewpipe::ops
