#pragma once
// ObjectStore: where the lake lives. Keys are '/'-separated paths relative
// to the store's root ("events/event_date=2025-01-01/hour=03/part-1.parquet").
// The contract is what an S3-compatible store can honour too:
//   - Put / PutFile create or replace one object atomically (readers see
//     the old object or the whole new one, never a part) and durably
//     (S3: a single PUT or a completed multipart upload);
//   - Rename moves an object (local: rename(2) + fsync of the target's
//     directory; S3: copy + delete). The target appears atomically, but the
//     source may linger after a crash: callers must tolerate both existing;
//   - List is recursive, sorted by key; Delete of a missing key is OK;
//   - PutIfAbsent creates key only if no object has it, atomically: of
//     several concurrent calls for one key exactly one succeeds, the others
//     get AlreadyExists (local: link(2) of a synced temporary file; S3: a
//     PUT with `If-None-Match: *`). Several lake writers commit through it.
// The lake's commit protocol (partition_committer.h) needs nothing more.
//
// Thread safety: implementations are thread safe.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace viewpipe {

// PutIfAbsent's answer when the key exists: Aborted with this message
// prefix (common/status.h has no AlreadyExists code).
inline constexpr std::string_view kAlreadyExists = "already exists: ";
inline Status AlreadyExists(const std::string& key) {
  return Status::Aborted(std::string(kAlreadyExists) + key);
}
inline bool IsAlreadyExists(const Status& st) {
  return st.code() == Status::Code::kAborted && st.message().rfind(kAlreadyExists, 0) == 0;
}

struct ObjectInfo {
  std::string key;
  uint64_t size = 0;
};

class ObjectStore {
 public:
  virtual ~ObjectStore() = default;

  virtual Status Put(const std::string& key, std::string_view data) = 0;
  // Creates key with data only if it does not exist yet; AlreadyExists
  // (and nothing changed) when it does.
  virtual Status PutIfAbsent(const std::string& key, std::string_view data) = 0;
  // Copies the local file at local_path into key; *crc32c (if given)
  // receives the CRC32C of the bytes stored.
  virtual Status PutFile(const std::string& key, const std::string& local_path,
                         uint32_t* crc32c) = 0;
  // NotFound when key does not exist.
  virtual Result<std::string> Get(const std::string& key) = 0;
  virtual Result<uint64_t> Size(const std::string& key) = 0;
  virtual bool Exists(const std::string& key) = 0;
  // Every object whose key starts with prefix.
  virtual Result<std::vector<ObjectInfo>> List(const std::string& prefix) = 0;
  virtual Status Delete(const std::string& key) = 0;
  virtual Status Rename(const std::string& from, const std::string& to) = 0;
  // What DuckDB opens to read key: a local path (or an s3:// URL).
  virtual std::string ReadUri(const std::string& key) const = 0;
  // Where keys start (a directory or a bucket URL), for messages and reads.
  virtual std::string RootUri() const = 0;
};

}  // namespace viewpipe
