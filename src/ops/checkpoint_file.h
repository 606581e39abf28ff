#pragma once
// The framing of an ops checkpoint file (data_dir/ops/checkpoint):
//
//   "VPOPSCK1"                                   8-byte magic
//   section*                                     in the order the writer chose
//   section kind 0xFF with payload fixed32 N     N = sections before it
//
//   section: u8 kind, fixed32 length, payload[length],
//            fixed32 crc32c(kind, length, payload)
//
// The file is written under a temporary name (path.tmp.<pid>, so a
// background writer and a restarted server never share one), fdatasync'd,
// renamed over the old checkpoint and the directory synced, so a crash leaves either the old
// or the new checkpoint. The reader stops at the first damaged section and
// reports Corruption; it never returns a payload that failed its checksum.
// What the payloads hold is up to the callers (OpsProcessor, SessionTracker).

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/env.h"
#include "common/status.h"

namespace viewpipe::ops {

class CheckpointWriter {
 public:
  // Starts path + ".tmp.<pid>".
  static Result<std::unique_ptr<CheckpointWriter>> Create(Env* env, const std::string& path);
  ~CheckpointWriter();
  Status Section(uint8_t kind, std::string_view payload);
  // Ends the file, syncs, renames it over path and syncs the directory.
  Status Commit();
  uint64_t bytes() const { return bytes_; }

 private:
  CheckpointWriter(Env* env, std::string path, std::unique_ptr<WritableFile> file);
  Env* env_;
  std::string path_;
  std::string tmp_path_;
  std::unique_ptr<WritableFile> file_;
  std::string buffer_;
  uint32_t sections_ = 0;
  uint64_t bytes_ = 0;
  bool committed_ = false;
};

class CheckpointReader {
 public:
  static constexpr uint8_t kEnd = 0xFF;
  // NotFound when there is no checkpoint.
  static Result<std::unique_ptr<CheckpointReader>> Open(Env* env, const std::string& path);
  // Reads the next section. At the end marker: *kind = kEnd (after checking
  // the section count). Corruption for a damaged or truncated file.
  Status Next(uint8_t* kind, std::string* payload);

 private:
  explicit CheckpointReader(std::unique_ptr<RandomAccessFile> file, uint64_t size)
      : file_(std::move(file)), size_(size) {}
  std::unique_ptr<RandomAccessFile> file_;
  uint64_t size_;
  uint64_t pos_ = 8;
  uint32_t sections_ = 0;
};

}  // namespace viewpipe::ops
