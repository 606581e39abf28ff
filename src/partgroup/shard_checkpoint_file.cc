#include "partgroup/shard_checkpoint_file.h"

#include <unistd.h>

#include "ops/bytes.h"

namespace viewpipe::partgroup {

ShardCheckpointFile::ShardCheckpointFile(ObjectStore* store, Env* env, std::string scratch_dir,
                                         std::string group, uint8_t shard_kind)
    : store_(store),
      env_(env),
      scratch_dir_(std::move(scratch_dir)),
      group_(std::move(group)),
      shard_kind_(shard_kind) {}

std::string ShardCheckpointFile::Key(const std::string& group, PartitionId p) {
  return group + "/partitions/" + std::to_string(p) + "/checkpoint";
}

std::string ShardCheckpointFile::Scratch(PartitionId p, const char* what) const {
  return JoinPath(scratch_dir_, std::string(what) + "-" + std::to_string(p) + "-" +
                                    std::to_string(::getpid()));
}

Status ShardCheckpointFile::Damaged(PartitionId p, const std::string& why) const {
  return Status::Corruption(group_ + " shard checkpoint " + Key(p) + why);
}

Status ShardCheckpointFile::Save(PartitionId p, Offset next, int64_t time,
                                 const WriteState& write_state, uint64_t* bytes) {
  VP_RETURN_IF_ERROR(env_->CreateDirs(scratch_dir_));
  const std::string path = Scratch(p, "save");
  auto writer = ops::CheckpointWriter::Create(env_, path);
  if (!writer.ok()) return writer.status();
  std::string section;
  ops::bytes::PutVarint(&section, static_cast<uint64_t>(p));
  ops::bytes::PutVarint(&section, static_cast<uint64_t>(next));
  ops::bytes::PutSigned(&section, time);
  VP_RETURN_IF_ERROR((*writer)->Section(shard_kind_, section));
  VP_RETURN_IF_ERROR(write_state(writer->get()));
  VP_RETURN_IF_ERROR((*writer)->Commit());
  if (bytes != nullptr) *bytes = (*writer)->bytes();
  Status st = store_->PutFile(Key(p), path, nullptr);
  env_->RemoveFile(path);
  return st;
}

Result<std::unique_ptr<ops::CheckpointReader>> ShardCheckpointFile::Open(PartitionId p,
                                                                         Offset* next,
                                                                         int64_t* time) {
  auto data = store_->Get(Key(p));
  if (!data.ok()) return data.status();
  VP_RETURN_IF_ERROR(env_->CreateDirs(scratch_dir_));
  const std::string path = Scratch(p, "load");
  VP_RETURN_IF_ERROR(env_->WriteFileAtomic(path, *data));
  auto reader = ops::CheckpointReader::Open(env_, path);
  env_->RemoveFile(path);  // the open file stays readable
  if (!reader.ok()) return reader.status();
  uint8_t kind;
  std::string payload;
  VP_RETURN_IF_ERROR((*reader)->Next(&kind, &payload));
  std::string_view in = payload;
  uint64_t partition, offset;
  if (kind != shard_kind_ || !ops::bytes::GetCount(&in, INT32_MAX, &partition) ||
      !ops::bytes::GetCount(&in, INT64_MAX, &offset) || !ops::bytes::GetSigned(&in, time) ||
      !in.empty()) {
    return Damaged(p, ": bad shard section");
  }
  if (static_cast<PartitionId>(partition) != p) {
    return Damaged(p, " is of partition " + std::to_string(partition));
  }
  *next = static_cast<Offset>(offset);
  return reader;
}

}  // namespace viewpipe::partgroup
