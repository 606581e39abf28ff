#pragma once
// LocalObjectStore: an ObjectStore on a local directory, through an Env
// (so crash tests can run it on a FaultInjectionEnv). Put and PutFile write
// "<key>.tmp", fsync it, rename it over the key and fsync the directory;
// new directories are fsync'd into their parents. PutIfAbsent writes and
// fsyncs a uniquely named temporary file, link(2)s it to the key (EEXIST:
// AlreadyExists) and fsyncs the directory: several processes sharing the
// directory (one host, or a POSIX shared filesystem) may race on a key.

#include <string>

#include "common/env.h"
#include "lake/object_store.h"

namespace viewpipe {

class LocalObjectStore final : public ObjectStore {
 public:
  // env must outlive the store. root is created when missing.
  LocalObjectStore(Env* env, std::string root);

  Status Put(const std::string& key, std::string_view data) override;
  Status PutIfAbsent(const std::string& key, std::string_view data) override;
  Status PutFile(const std::string& key, const std::string& local_path,
                 uint32_t* crc32c) override;
  Result<std::string> Get(const std::string& key) override;
  Result<uint64_t> Size(const std::string& key) override;
  bool Exists(const std::string& key) override;
  Result<std::vector<ObjectInfo>> List(const std::string& prefix) override;
  Status Delete(const std::string& key) override;
  Status Rename(const std::string& from, const std::string& to) override;
  std::string ReadUri(const std::string& key) const override { return Path(key); }
  std::string RootUri() const override { return root_; }

 private:
  std::string Path(const std::string& key) const { return JoinPath(root_, key); }
  // Creates the directory of path and any missing parents, fsyncing each
  // new one into its parent.
  Status EnsureDirOf(const std::string& path);
  // Removes the now empty directories from path's up to the root (tidy
  // only: a leftover empty directory holds no data).
  void PruneEmptyDirs(const std::string& path);
  Status ListDir(const std::string& dir, const std::string& rel, const std::string& prefix,
                 std::vector<ObjectInfo>* out);

  Env* env_;
  std::string root_;
};

}  // namespace viewpipe
