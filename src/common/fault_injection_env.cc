#include "common/fault_injection_env.h"

#include <algorithm>

namespace viewpipe {

// Forwards to the base file and reports every byte to the Env's bookkeeping.
class FaultWritableFile final : public WritableFile {
 public:
  FaultWritableFile(FaultInjectionEnv* env, std::string path, std::unique_ptr<WritableFile> base)
      : env_(env), path_(std::move(path)), base_(std::move(base)) {}

  Status Append(std::string_view data) override {
    Status limit;
    size_t n = env_->AdmitAppend(data.size(), &limit);
    if (n > 0) {
      VP_RETURN_IF_ERROR(base_->Append(data.substr(0, n)));
      env_->OnAppended(path_, n);
    }
    return limit;
  }
  // fsync semantics: what was appended to the file before the call, through
  // any handle, is durable when it returns.
  Status Sync() override {
    uint64_t size = 0;
    VP_RETURN_IF_ERROR(env_->BeforeSync(path_, &size));
    VP_RETURN_IF_ERROR(base_->Sync());
    env_->OnSynced(path_, size);
    return Status::OK();
  }
  Status Close() override { return base_->Close(); }
  uint64_t Size() const override { return base_->Size(); }
  void DropCache(uint64_t offset, uint64_t n) override {
    env_->OnDropCache(path_, offset + n);
    base_->DropCache(offset, n);
  }

 private:
  FaultInjectionEnv* env_;
  std::string path_;
  std::unique_ptr<WritableFile> base_;
};

namespace {
std::string TrimSlash(std::string dir) {
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  return dir;
}
}  // namespace

void FaultInjectionEnv::SetWriteError(bool on) {
  std::lock_guard<std::mutex> lock(mu_);
  write_error_ = on;
}

void FaultInjectionEnv::SetSyncError(bool on) {
  std::lock_guard<std::mutex> lock(mu_);
  sync_error_ = on;
}

void FaultInjectionEnv::SetSpaceLimit(uint64_t bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  limit_ = bytes;
}

uint64_t FaultInjectionEnv::UsedBytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return used_;
}

uint64_t FaultInjectionEnv::SyncCount() const {
  std::lock_guard<std::mutex> lock(mu_);
  return syncs_;
}

uint64_t FaultInjectionEnv::SyncedSize(const std::string& path) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = files_.find(path);
  return it == files_.end() ? 0 : it->second.synced;
}

uint64_t FaultInjectionEnv::CacheDroppedTo(const std::string& path) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = files_.find(path);
  return it == files_.end() ? 0 : it->second.cache_dropped_to;
}

uint64_t FaultInjectionEnv::CacheDropsPastSynced() const {
  std::lock_guard<std::mutex> lock(mu_);
  return cache_drops_past_synced_;
}

Result<std::unique_ptr<WritableFile>> FaultInjectionEnv::NewAppendableFile(
    const std::string& path) {
  bool existed = base_->FileExists(path);
  return Wrap(path, base_->NewAppendableFile(path), !existed);
}

Result<std::unique_ptr<WritableFile>> FaultInjectionEnv::NewWritableFile(const std::string& path) {
  bool existed = base_->FileExists(path);
  auto file = base_->NewWritableFile(path);
  if (file.ok()) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = files_.find(path);
    if (it != files_.end()) {
      used_ -= it->second.size;
      files_.erase(it);
    }
  }
  return Wrap(path, std::move(file), !existed);
}

Result<std::unique_ptr<WritableFile>> FaultInjectionEnv::Wrap(
    const std::string& path, Result<std::unique_ptr<WritableFile>> base, bool created) {
  if (!base.ok()) return base.status();
  std::unique_ptr<WritableFile> file = std::move(base).value();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (files_.find(path) == files_.end()) {
      // A file we have not seen: what is in it already counts as durable.
      FileState& st = files_[path];
      st.size = st.synced = file->Size();
      st.dir_entry_synced = !created;
      used_ += st.size;
    }
  }
  return std::unique_ptr<WritableFile>(new FaultWritableFile(this, path, std::move(file)));
}

size_t FaultInjectionEnv::AdmitAppend(size_t n, Status* st) {
  std::lock_guard<std::mutex> lock(mu_);
  if (write_error_) {
    *st = Status::IOError("fault injection: write error");
    return 0;
  }
  if (limit_ == kNoLimit) {
    used_ += n;
    return n;
  }
  uint64_t room = limit_ > used_ ? limit_ - used_ : 0;
  if (n <= room) {
    used_ += n;  // reserved now, so concurrent appenders cannot overshoot
    return n;
  }
  *st = Status::NoSpace("fault injection: no space left on device");
  used_ += room;
  return static_cast<size_t>(room);
}

void FaultInjectionEnv::OnAppended(const std::string& path, size_t n) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = files_.find(path);
  if (it == files_.end()) return;  // removed while open
  it->second.size += n;            // used_ was charged by AdmitAppend
}

void FaultInjectionEnv::SetBeforeSyncHook(std::function<void(const std::string&)> hook) {
  std::lock_guard<std::mutex> lock(mu_);
  before_sync_ = std::move(hook);
}

Status FaultInjectionEnv::BeforeSync(const std::string& path, uint64_t* size) {
  std::function<void(const std::string&)> hook;
  {
    std::lock_guard<std::mutex> lock(mu_);
    hook = before_sync_;
  }
  if (hook) hook(path);
  std::lock_guard<std::mutex> lock(mu_);
  if (sync_error_) return Status::IOError("fault injection: sync error");
  ++syncs_;
  auto it = files_.find(path);
  *size = it == files_.end() ? 0 : it->second.size;
  return Status::OK();
}

void FaultInjectionEnv::OnSynced(const std::string& path, uint64_t size) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = files_.find(path);
  if (it != files_.end()) {
    it->second.synced = std::max(it->second.synced, std::min(size, it->second.size));
  }
}

void FaultInjectionEnv::OnDropCache(const std::string& path, uint64_t end) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = files_.find(path);
  if (it == files_.end()) return;  // removed meanwhile
  if (end > it->second.synced) ++cache_drops_past_synced_;
  it->second.cache_dropped_to = std::max(it->second.cache_dropped_to, end);
}

Status FaultInjectionEnv::RemoveFile(const std::string& path) {
  VP_RETURN_IF_ERROR(base_->RemoveFile(path));
  std::lock_guard<std::mutex> lock(mu_);
  auto it = files_.find(path);
  if (it != files_.end()) {
    used_ -= std::min(used_, it->second.size);
    files_.erase(it);
  }
  return Status::OK();
}

Status FaultInjectionEnv::RenameFile(const std::string& from, const std::string& to) {
  VP_RETURN_IF_ERROR(base_->RenameFile(from, to));
  std::lock_guard<std::mutex> lock(mu_);
  auto old_to = files_.find(to);
  if (old_to != files_.end()) {
    used_ -= std::min(used_, old_to->second.size);
    files_.erase(old_to);
  }
  auto it = files_.find(from);
  if (it != files_.end()) {
    FileState st = it->second;
    st.dir_entry_synced = true;  // renames are modelled as durable at once
    files_.erase(it);
    files_[to] = st;
  }
  return Status::OK();
}

Status FaultInjectionEnv::TruncateFile(const std::string& path, uint64_t size) {
  VP_RETURN_IF_ERROR(base_->TruncateFile(path, size));
  std::lock_guard<std::mutex> lock(mu_);
  auto it = files_.find(path);
  if (it != files_.end() && size < it->second.size) {
    used_ -= std::min(used_, it->second.size - size);
    it->second.size = size;
    it->second.synced = std::min(it->second.synced, size);
  }
  return Status::OK();
}

Status FaultInjectionEnv::SyncDir(const std::string& dir) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (sync_error_) return Status::IOError("fault injection: sync error on " + dir);
  }
  VP_RETURN_IF_ERROR(base_->SyncDir(dir));
  std::string d = TrimSlash(dir);
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [path, st] : files_) {
    if (DirName(path) == d) st.dir_entry_synced = true;
  }
  return Status::OK();
}

Result<uint64_t> FaultInjectionEnv::FreeSpace(const std::string& path) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (limit_ != kNoLimit) return limit_ > used_ ? limit_ - used_ : 0;
  }
  return base_->FreeSpace(path);
}

Status FaultInjectionEnv::DropUnsyncedData() {
  std::lock_guard<std::mutex> lock(mu_);
  Status first;
  for (auto it = files_.begin(); it != files_.end();) {
    FileState& st = it->second;
    Status s;
    if (!st.dir_entry_synced) {
      s = base_->RemoveFile(it->first);
      if (s.IsNotFound()) s = Status::OK();
      used_ -= std::min(used_, st.size);
      it = files_.erase(it);
    } else {
      if (st.size > st.synced) {
        s = base_->TruncateFile(it->first, st.synced);
        used_ -= st.size - st.synced;
        st.size = st.synced;
      }
      ++it;
    }
    if (!s.ok() && first.ok()) first = s;
  }
  return first;
}

}  // namespace viewpipe
