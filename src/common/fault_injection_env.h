#pragma once
// FaultInjectionEnv: an Env for crash and failure tests (after leveldb's
// FaultInjectionTestEnv). It forwards to a base Env and remembers, per file
// written through it, how many bytes are durable, so a test can simulate
// power loss with DropUnsyncedData(). Like fsync, a Sync on any handle of a
// file makes everything appended to that file before the call durable. It
// can also fail writes or syncs and fill the disk.
//
// What DropUnsyncedData() models:
//   - every tracked file is cut back to the size it had at its last Sync();
//   - a file created since the last SyncDir() of its directory vanishes.
// What it does not model: renames and removals are taken as durable at once
// (WriteFileAtomic syncs the directory right after its rename anyway).
//
// Thread safety: all methods are thread safe. DropUnsyncedData() requires
// that no WritableFile of this Env is in use (close the log first, the way a
// crash would).

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "common/env.h"

namespace viewpipe {

class FaultInjectionEnv final : public Env {
 public:
  static constexpr uint64_t kNoLimit = UINT64_MAX;

  // base must outlive this Env.
  explicit FaultInjectionEnv(Env* base) : base_(base) {}

  // Power loss: see the header comment.
  Status DropUnsyncedData();
  // While set, WritableFile::Append returns IOError and writes nothing.
  void SetWriteError(bool on);
  // While set, WritableFile::Sync returns IOError and syncs nothing.
  void SetSyncError(bool on);
  // Total bytes the tracked files may hold. An Append crossing the limit
  // writes the part that fits, then returns NoSpace (like a real full disk).
  // FreeSpace() reports limit minus used. kNoLimit restores the base's.
  void SetSpaceLimit(uint64_t bytes);

  // Called (without locks held) at the start of every WritableFile::Sync,
  // with the file's path: lets a test hold a sync in flight. Set before use.
  void SetBeforeSyncHook(std::function<void(const std::string&)> hook);

  uint64_t UsedBytes() const;
  uint64_t SyncCount() const;
  // Bytes of path known durable (0 when untracked).
  uint64_t SyncedSize(const std::string& path) const;
  // End of the furthest range WritableFile::DropCache advised for path (0:
  // none), and how many advised ranges reached past the synced size then.
  uint64_t CacheDroppedTo(const std::string& path) const;
  uint64_t CacheDropsPastSynced() const;

  // Env.
  Result<std::unique_ptr<WritableFile>> NewAppendableFile(const std::string& path) override;
  Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path) override;
  Result<std::unique_ptr<RandomAccessFile>> NewRandomAccessFile(const std::string& path) override {
    return base_->NewRandomAccessFile(path);
  }
  bool FileExists(const std::string& path) override { return base_->FileExists(path); }
  Result<uint64_t> FileSize(const std::string& path) override { return base_->FileSize(path); }
  Result<std::vector<std::string>> GetChildren(const std::string& dir) override {
    return base_->GetChildren(dir);
  }
  Status CreateDirs(const std::string& dir) override { return base_->CreateDirs(dir); }
  Status RemoveFile(const std::string& path) override;
  Status RenameFile(const std::string& from, const std::string& to) override;
  Status TruncateFile(const std::string& path, uint64_t size) override;
  Status SyncDir(const std::string& dir) override;
  Result<uint64_t> FreeSpace(const std::string& path) override;
  Result<std::unique_ptr<FileLock>> LockFile(const std::string& path) override {
    return base_->LockFile(path);
  }

 private:
  friend class FaultWritableFile;
  struct FileState {
    uint64_t size = 0;
    uint64_t synced = 0;
    bool dir_entry_synced = true;  // false: created since the last SyncDir
    uint64_t cache_dropped_to = 0;
  };

  Result<std::unique_ptr<WritableFile>> Wrap(const std::string& path,
                                             Result<std::unique_ptr<WritableFile>> base,
                                             bool created);
  // How many of n bytes an Append to path may write; sets *st when fewer.
  size_t AdmitAppend(size_t n, Status* st);
  void OnAppended(const std::string& path, size_t n);
  // Fails when syncs fail; else *size gets the file's size now.
  Status BeforeSync(const std::string& path, uint64_t* size);
  void OnSynced(const std::string& path, uint64_t size);
  void OnDropCache(const std::string& path, uint64_t end);

  Env* const base_;
  mutable std::mutex mu_;
  std::map<std::string, FileState> files_;
  uint64_t used_ = 0;
  uint64_t limit_ = kNoLimit;
  uint64_t syncs_ = 0;
  uint64_t cache_drops_past_synced_ = 0;
  bool write_error_ = false;
  bool sync_error_ = false;
  std::function<void(const std::string&)> before_sync_;
};

}  // namespace viewpipe
