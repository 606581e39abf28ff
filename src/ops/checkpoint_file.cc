#include "ops/checkpoint_file.h"

#include <unistd.h>

#include "common/crc32c.h"
#include "ops/bytes.h"

namespace viewpipe::ops {
namespace {

constexpr std::string_view kMagic = "VPOPSCK1";
constexpr size_t kFlushBytes = 4 << 20;
constexpr uint32_t kMaxSection = 1u << 30;

uint32_t SectionCrc(uint8_t kind, std::string_view header_len, std::string_view payload) {
  const char k = static_cast<char>(kind);
  uint32_t crc = crc32c::Extend(0, &k, 1);
  crc = crc32c::Extend(crc, header_len.data(), header_len.size());
  return crc32c::Extend(crc, payload.data(), payload.size());
}

}  // namespace

CheckpointWriter::CheckpointWriter(Env* env, std::string path, std::unique_ptr<WritableFile> file)
    : env_(env),
      path_(std::move(path)),
      tmp_path_(path_ + ".tmp." + std::to_string(::getpid())),
      file_(std::move(file)) {}

CheckpointWriter::~CheckpointWriter() {
  if (committed_) return;
  if (file_) file_->Close();
  env_->RemoveFile(tmp_path_);
}

Result<std::unique_ptr<CheckpointWriter>> CheckpointWriter::Create(Env* env,
                                                                   const std::string& path) {
  VP_RETURN_IF_ERROR(env->CreateDirs(DirName(path)));
  auto file = env->NewWritableFile(path + ".tmp." + std::to_string(::getpid()));
  if (!file.ok()) return file.status();
  std::unique_ptr<CheckpointWriter> w(new CheckpointWriter(env, path, std::move(file).value()));
  w->buffer_.append(kMagic);
  return w;
}

Status CheckpointWriter::Section(uint8_t kind, std::string_view payload) {
  if (payload.size() > kMaxSection) return Status::InvalidArgument("checkpoint section too big");
  std::string len;
  bytes::PutFixed32(&len, static_cast<uint32_t>(payload.size()));
  buffer_.push_back(static_cast<char>(kind));
  buffer_.append(len);
  buffer_.append(payload);
  bytes::PutFixed32(&buffer_, SectionCrc(kind, len, payload));
  if (kind != CheckpointReader::kEnd) ++sections_;
  if (buffer_.size() >= kFlushBytes) {
    VP_RETURN_IF_ERROR(file_->Append(buffer_));
    bytes_ += buffer_.size();
    buffer_.clear();
  }
  return Status::OK();
}

Status CheckpointWriter::Commit() {
  std::string count;
  bytes::PutFixed32(&count, sections_);
  VP_RETURN_IF_ERROR(Section(CheckpointReader::kEnd, count));
  VP_RETURN_IF_ERROR(file_->Append(buffer_));
  bytes_ += buffer_.size();
  buffer_.clear();
  VP_RETURN_IF_ERROR(file_->Sync());
  VP_RETURN_IF_ERROR(file_->Close());
  file_.reset();
  VP_RETURN_IF_ERROR(env_->RenameFile(tmp_path_, path_));
  committed_ = true;
  return env_->SyncDir(DirName(path_));
}

Result<std::unique_ptr<CheckpointReader>> CheckpointReader::Open(Env* env,
                                                                 const std::string& path) {
  if (!env->FileExists(path)) return Status::NotFound(path);
  auto size = env->FileSize(path);
  if (!size.ok()) return size.status();
  auto file = env->NewRandomAccessFile(path);
  if (!file.ok()) return file.status();
  std::string magic;
  VP_RETURN_IF_ERROR((*file)->Read(0, kMagic.size(), &magic));
  if (magic != kMagic) return Status::Corruption(path + ": not an ops checkpoint");
  return std::unique_ptr<CheckpointReader>(new CheckpointReader(std::move(file).value(), *size));
}

Status CheckpointReader::Next(uint8_t* kind, std::string* payload) {
  std::string header;
  VP_RETURN_IF_ERROR(file_->Read(pos_, 5, &header));
  if (header.size() < 5) return Status::Corruption("ops checkpoint: truncated section header");
  *kind = static_cast<uint8_t>(header[0]);
  std::string_view len_bytes = std::string_view(header).substr(1, 4);
  std::string_view in = len_bytes;
  uint32_t len = 0;
  bytes::GetFixed32(&in, &len);
  if (len > kMaxSection || pos_ + 5 + len + 4 > size_) {
    return Status::Corruption("ops checkpoint: truncated section");
  }
  std::string body;
  VP_RETURN_IF_ERROR(file_->Read(pos_ + 5, len + 4, &body));
  if (body.size() != len + 4) return Status::Corruption("ops checkpoint: short read");
  std::string_view crc_bytes = std::string_view(body).substr(len);
  uint32_t crc = 0;
  bytes::GetFixed32(&crc_bytes, &crc);
  body.resize(len);
  if (crc != SectionCrc(*kind, len_bytes, body)) {
    return Status::Corruption("ops checkpoint: section checksum mismatch");
  }
  pos_ += 5 + len + 4;
  if (*kind == kEnd) {
    std::string_view p = body;
    uint32_t count = 0;
    if (!bytes::GetFixed32(&p, &count) || count != sections_ || pos_ != size_) {
      return Status::Corruption("ops checkpoint: bad end marker");
    }
  } else {
    ++sections_;
  }
  *payload = std::move(body);
  return Status::OK();
}

}  // namespace viewpipe::ops
