#pragma once
// Env: every durable byte goes through here (files, fsync, rename, dirs), so
// tests can swap in a fault-injection Env (see fault_injection_env.h) that
// drops unsynced data, fails writes or syncs, and fills the disk.
//
// Thread safety: Env methods are thread safe. A WritableFile is used by one
// thread at a time; a RandomAccessFile may be read from many threads.

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace viewpipe {

class WritableFile {
 public:
  virtual ~WritableFile() = default;
  // Appends to the end; the bytes are "written" (visible to readers) but not
  // durable until Sync() returns OK.
  virtual Status Append(std::string_view data) = 0;
  // Appends the pieces in order, as one Append of their concatenation
  // would. The default calls Append per piece; PosixEnv's uses writev.
  virtual Status AppendV(std::span<const std::string_view> pieces) {
    for (std::string_view piece : pieces) VP_RETURN_IF_ERROR(Append(piece));
    return Status::OK();
  }
  // fdatasync: everything appended so far is durable when this returns OK.
  virtual Status Sync() = 0;
  virtual Status Close() = 0;
  // Bytes in the file, including appended-but-unsynced bytes.
  virtual uint64_t Size() const = 0;
  // Advice: the synced bytes [offset, offset + n) will not be read soon, so
  // the page cache may let them go (PosixEnv: posix_fadvise DONTNEED). Never
  // changes the file's contents; the default does nothing.
  virtual void DropCache(uint64_t offset, uint64_t n) {
    (void)offset;
    (void)n;
  }
};

class RandomAccessFile {
 public:
  virtual ~RandomAccessFile() = default;
  // Reads up to n bytes at offset into *out (resized to what was read; short
  // at end of file).
  virtual Status Read(uint64_t offset, size_t n, std::string* out) const = 0;
};

// An exclusive advisory lock on a file (flock), released when destroyed.
class FileLock {
 public:
  virtual ~FileLock() = default;
};

class Env {
 public:
  virtual ~Env() = default;
  // The process-wide POSIX Env. Never deleted.
  static Env* Default();

  // Opens path for appending, creating it if missing.
  virtual Result<std::unique_ptr<WritableFile>> NewAppendableFile(const std::string& path) = 0;
  // Creates or truncates path.
  virtual Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path) = 0;
  virtual Result<std::unique_ptr<RandomAccessFile>> NewRandomAccessFile(
      const std::string& path) = 0;

  virtual bool FileExists(const std::string& path) = 0;
  virtual Result<uint64_t> FileSize(const std::string& path) = 0;
  // Names (not paths) of the entries of dir, without "." and "..".
  virtual Result<std::vector<std::string>> GetChildren(const std::string& dir) = 0;
  // mkdir -p.
  virtual Status CreateDirs(const std::string& dir) = 0;
  virtual Status RemoveFile(const std::string& path) = 0;
  // Atomic rename (replaces `to`). Durable only after SyncDir of the parent.
  virtual Status RenameFile(const std::string& from, const std::string& to) = 0;
  virtual Status TruncateFile(const std::string& path, uint64_t size) = 0;
  // fsync of a directory, making creations, renames and removals in it durable.
  virtual Status SyncDir(const std::string& dir) = 0;
  // Free bytes on the file system holding path.
  virtual Result<uint64_t> FreeSpace(const std::string& path) = 0;
  // Creates path if missing and takes an exclusive lock on it without
  // waiting. Fails with IOError when another process (or another FileLock in
  // this process) holds it. The default uses flock(2) on the real file system.
  virtual Result<std::unique_ptr<FileLock>> LockFile(const std::string& path);

  // Convenience built on the above.
  Status ReadFileToString(const std::string& path, std::string* out);
  // Writes data to a temporary file, syncs it, renames it over path and syncs
  // the directory: readers see the old or the new content, never a mix.
  Status WriteFileAtomic(const std::string& path, std::string_view data);
};

// Joins two path parts with one '/'.
std::string JoinPath(std::string_view a, std::string_view b);
// The directory part of path ("." when there is none).
std::string DirName(std::string_view path);

}  // namespace viewpipe
