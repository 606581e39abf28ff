#include "sregroup/sre_shard_checkpoints.h"

#include <unistd.h>

#include "ops/bytes.h"
#include "ops/checkpoint_file.h"

namespace viewpipe::sre {
namespace {

constexpr uint8_t kSectionShard = 33;

}  // namespace

SreShardCheckpoints::SreShardCheckpoints(ObjectStore* store, Env* env, std::string scratch_dir,
                                         const SreOptions& options, int64_t slice_keep_ms)
    : store_(store),
      env_(env),
      scratch_dir_(std::move(scratch_dir)),
      options_(options),
      slice_keep_ms_(slice_keep_ms) {}

std::string SreShardCheckpoints::Key(PartitionId p) {
  return "sre/partitions/" + std::to_string(p) + "/checkpoint";
}

std::unique_ptr<PartitionQoe> SreShardCheckpoints::Fresh() const {
  return std::make_unique<PartitionQoe>(options_, slice_keep_ms_);
}

std::string SreShardCheckpoints::Scratch(PartitionId p, const char* what) const {
  return JoinPath(scratch_dir_, std::string(what) + "-" + std::to_string(p) + "-" +
                                    std::to_string(::getpid()));
}

Status SreShardCheckpoints::Save(PartitionId p, const SreShard& s, uint64_t* bytes) {
  VP_RETURN_IF_ERROR(env_->CreateDirs(scratch_dir_));
  const std::string path = Scratch(p, "save");
  auto writer = ops::CheckpointWriter::Create(env_, path);
  if (!writer.ok()) return writer.status();
  std::string section;
  ops::bytes::PutVarint(&section, static_cast<uint64_t>(p));
  ops::bytes::PutVarint(&section, static_cast<uint64_t>(s.next));
  ops::bytes::PutSigned(&section, s.time);
  VP_RETURN_IF_ERROR((*writer)->Section(kSectionShard, section));
  VP_RETURN_IF_ERROR(s.qoe->Save(writer->get(), kSectionShard + 1));
  VP_RETURN_IF_ERROR((*writer)->Commit());
  if (bytes != nullptr) *bytes = (*writer)->bytes();
  Status st = store_->PutFile(Key(p), path, nullptr);
  env_->RemoveFile(path);
  return st;
}

Result<SreShard> SreShardCheckpoints::Load(PartitionId p) {
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
  uint64_t partition, next;
  SreShard s;
  if (kind != kSectionShard || !ops::bytes::GetCount(&in, INT32_MAX, &partition) ||
      !ops::bytes::GetCount(&in, INT64_MAX, &next) || !ops::bytes::GetSigned(&in, &s.time) ||
      !in.empty()) {
    return Status::Corruption("sre shard checkpoint " + Key(p) + ": bad shard section");
  }
  if (static_cast<PartitionId>(partition) != p) {
    return Status::Corruption("sre shard checkpoint " + Key(p) + " is of partition " +
                              std::to_string(partition));
  }
  s.next = static_cast<Offset>(next);
  s.qoe = Fresh();
  VP_RETURN_IF_ERROR(s.qoe->Load(reader->get(), kSectionShard + 1));
  Status end = (*reader)->Next(&kind, &payload);
  if (end.ok() && kind != ops::CheckpointReader::kEnd) {
    end = Status::Corruption("sre shard checkpoint " + Key(p) + ": sections after the state");
  }
  if (!end.ok()) return end;
  return s;
}

}  // namespace viewpipe::sre
