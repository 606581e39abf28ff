#include "lake/local_object_store.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <filesystem>

#include "common/crc32c.h"

namespace viewpipe {

LocalObjectStore::LocalObjectStore(Env* env, std::string root) : env_(env), root_(std::move(root)) {
  while (root_.size() > 1 && root_.back() == '/') root_.pop_back();
}

Status LocalObjectStore::EnsureDirOf(const std::string& path) {
  std::string dir = DirName(path);
  if (env_->FileExists(dir)) return Status::OK();
  VP_RETURN_IF_ERROR(EnsureDirOf(dir));
  VP_RETURN_IF_ERROR(env_->CreateDirs(dir));
  return env_->SyncDir(DirName(dir));
}

Status LocalObjectStore::Put(const std::string& key, std::string_view data) {
  std::string path = Path(key);
  VP_RETURN_IF_ERROR(EnsureDirOf(path));
  return env_->WriteFileAtomic(path, data);
}

Status LocalObjectStore::PutIfAbsent(const std::string& key, std::string_view data) {
  std::string path = Path(key);
  VP_RETURN_IF_ERROR(EnsureDirOf(path));
  if (env_->FileExists(path)) return AlreadyExists(key);
  static std::atomic<uint64_t> counter{0};
  std::string tmp = path + ".tmp-" + std::to_string(::getpid()) + "-" +
                    std::to_string(counter.fetch_add(1));
  auto out = env_->NewWritableFile(tmp);
  if (!out.ok()) return out.status();
  Status st = (*out)->Append(data);
  if (st.ok()) st = (*out)->Sync();
  if (st.ok()) st = (*out)->Close();
  // link(2) fails with EEXIST when the key exists: the atomic "create only
  // if absent" (rename(2) would replace it).
  if (st.ok() && ::link(tmp.c_str(), path.c_str()) != 0) {
    st = errno == EEXIST ? AlreadyExists(key) : Status::FromErrno(errno, path);
  }
  Status removed = env_->RemoveFile(tmp);
  VP_RETURN_IF_ERROR(st);
  VP_RETURN_IF_ERROR(removed);
  return env_->SyncDir(DirName(path));
}

Status LocalObjectStore::PutFile(const std::string& key, const std::string& local_path,
                                 uint32_t* crc32c) {
  std::string path = Path(key);
  VP_RETURN_IF_ERROR(EnsureDirOf(path));
  auto size = env_->FileSize(local_path);
  if (!size.ok()) return size.status();
  auto in = env_->NewRandomAccessFile(local_path);
  if (!in.ok()) return in.status();
  std::string tmp = path + ".tmp";
  auto out = env_->NewWritableFile(tmp);
  if (!out.ok()) return out.status();
  constexpr size_t kChunk = 1 << 20;
  std::string buf;
  uint32_t crc = 0;
  for (uint64_t off = 0; off < *size; off += buf.size()) {
    VP_RETURN_IF_ERROR((*in)->Read(off, kChunk, &buf));
    if (buf.empty()) return Status::IOError(local_path + ": shorter than its size");
    crc = crc32c::Extend(crc, buf.data(), buf.size());
    VP_RETURN_IF_ERROR((*out)->Append(buf));
  }
  VP_RETURN_IF_ERROR((*out)->Sync());
  VP_RETURN_IF_ERROR((*out)->Close());
  VP_RETURN_IF_ERROR(env_->RenameFile(tmp, path));
  VP_RETURN_IF_ERROR(env_->SyncDir(DirName(path)));
  if (crc32c != nullptr) *crc32c = crc;
  return Status::OK();
}

Result<std::string> LocalObjectStore::Get(const std::string& key) {
  std::string out;
  Status st = env_->ReadFileToString(Path(key), &out);
  if (!st.ok()) return st;
  return out;
}

Result<uint64_t> LocalObjectStore::Size(const std::string& key) { return env_->FileSize(Path(key)); }

bool LocalObjectStore::Exists(const std::string& key) { return env_->FileExists(Path(key)); }

Status LocalObjectStore::ListDir(const std::string& dir, const std::string& rel,
                                 const std::string& prefix, std::vector<ObjectInfo>* out) {
  auto children = env_->GetChildren(dir);
  if (!children.ok()) return children.status().IsNotFound() ? Status::OK() : children.status();
  for (const std::string& name : *children) {
    std::string key = rel.empty() ? name : rel + "/" + name;
    // Skip subtrees that cannot hold a key with this prefix.
    size_t n = std::min(key.size(), prefix.size());
    if (key.compare(0, n, prefix, 0, n) != 0) continue;
    std::string path = JoinPath(dir, name);
    auto child = env_->GetChildren(path);
    if (child.ok()) {
      VP_RETURN_IF_ERROR(ListDir(path, key, prefix, out));
    } else if (key.size() >= prefix.size()) {
      auto size = env_->FileSize(path);
      if (size.ok()) out->push_back({key, *size});  // else: removed meanwhile
    }
  }
  return Status::OK();
}

Result<std::vector<ObjectInfo>> LocalObjectStore::List(const std::string& prefix) {
  std::vector<ObjectInfo> out;
  VP_RETURN_IF_ERROR(ListDir(root_, "", prefix, &out));
  std::sort(out.begin(), out.end(),
            [](const ObjectInfo& a, const ObjectInfo& b) { return a.key < b.key; });
  return out;
}

void LocalObjectStore::PruneEmptyDirs(const std::string& path) {
  std::error_code ec;
  for (std::string dir = DirName(path); dir.size() > root_.size() && dir.rfind(root_, 0) == 0;
       dir = DirName(dir)) {
    if (!std::filesystem::remove(dir, ec) || ec) break;  // not empty (or gone): stop
  }
}

Status LocalObjectStore::Delete(const std::string& key) {
  std::string path = Path(key);
  if (!env_->FileExists(path)) return Status::OK();
  Status st = env_->RemoveFile(path);
  if (!st.ok() && !st.IsNotFound()) return st;
  VP_RETURN_IF_ERROR(env_->SyncDir(DirName(path)));
  PruneEmptyDirs(path);
  return Status::OK();
}

Status LocalObjectStore::Rename(const std::string& from, const std::string& to) {
  std::string dst = Path(to);
  VP_RETURN_IF_ERROR(EnsureDirOf(dst));
  VP_RETURN_IF_ERROR(env_->RenameFile(Path(from), dst));
  // Only the target's entry must be durable: if the source's comes back
  // after a crash, the object simply exists twice (the contract allows it).
  VP_RETURN_IF_ERROR(env_->SyncDir(DirName(dst)));
  PruneEmptyDirs(Path(from));
  return Status::OK();
}

}  // namespace viewpipe
