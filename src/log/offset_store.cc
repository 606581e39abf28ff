#include "log/offset_store.h"

#include <cinttypes>
#include <cstdio>

#include "common/crc32c.h"

namespace viewpipe {

bool OffsetStore::ValidName(std::string_view name) {
  if (name.empty() || name.size() > 128 || name[0] == '.') return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

std::string OffsetStore::PathOf(std::string_view group, std::string_view topic) const {
  return JoinPath(JoinPath(dir_, group), topic);
}

std::string OffsetStore::Encode(const std::map<PartitionId, Offset>& offsets) {
  std::string out;
  for (const auto& [p, o] : offsets) {
    out += std::to_string(p) + " " + std::to_string(o) + "\n";
  }
  char crc[32];
  std::snprintf(crc, sizeof(crc), "crc32c %08x\n", crc32c::Value(out));
  return out + crc;
}

Status OffsetStore::Decode(std::string_view data, std::map<PartitionId, Offset>* offsets) {
  size_t crc_at = data.rfind("crc32c ");
  if (crc_at == std::string_view::npos || data.size() != crc_at + 16 || data.back() != '\n') {
    return Status::Corruption("offsets file has no crc line");
  }
  unsigned stored = 0;
  std::string crc_text(data.substr(crc_at + 7, 8));
  if (std::sscanf(crc_text.c_str(), "%8x", &stored) != 1 ||
      stored != crc32c::Value(data.substr(0, crc_at))) {
    return Status::Corruption("offsets file crc mismatch");
  }
  offsets->clear();
  std::string body(data.substr(0, crc_at));
  const char* p = body.c_str();
  int p_id;
  long long offset;
  int used;
  while (*p != '\0') {
    if (std::sscanf(p, "%d %lld\n%n", &p_id, &offset, &used) != 2 || p_id < 0 || offset < 0) {
      return Status::Corruption("offsets file has a malformed line");
    }
    (*offsets)[p_id] = offset;
    p += used;
  }
  return Status::OK();
}

Result<std::map<PartitionId, Offset>> OffsetStore::Load(std::string_view group,
                                                        std::string_view topic) const {
  std::map<PartitionId, Offset> offsets;
  std::string path = PathOf(group, topic);
  std::string data;
  Status st = env_->ReadFileToString(path, &data);
  if (st.IsNotFound()) return offsets;
  if (st.ok()) st = Decode(data, &offsets);
  if (!st.ok()) return Status::Corruption(path + ": " + st.message());
  return offsets;
}

Status OffsetStore::Commit(std::string_view group, std::string_view topic,
                           const std::map<PartitionId, Offset>& next_offsets) {
  std::lock_guard<std::mutex> lock(commit_mu_);
  auto stored = Load(group, topic);
  if (!stored.ok()) return stored.status();
  for (const auto& [p, o] : next_offsets) (*stored)[p] = o;
  std::string group_dir = JoinPath(dir_, group);
  if (!env_->FileExists(group_dir)) {
    VP_RETURN_IF_ERROR(env_->CreateDirs(group_dir));
    VP_RETURN_IF_ERROR(env_->SyncDir(dir_));
    VP_RETURN_IF_ERROR(env_->SyncDir(DirName(dir_)));
  }
  return env_->WriteFileAtomic(PathOf(group, topic), Encode(*stored));
}

Result<std::vector<std::pair<std::string, std::string>>> OffsetStore::List() const {
  std::vector<std::pair<std::string, std::string>> out;
  auto groups = env_->GetChildren(dir_);
  if (groups.status().IsNotFound()) return out;
  if (!groups.ok()) return groups.status();
  for (const std::string& g : *groups) {
    if (!ValidName(g)) continue;
    auto topics = env_->GetChildren(JoinPath(dir_, g));
    if (!topics.ok()) continue;  // not a directory
    for (const std::string& t : *topics) {
      if (ValidName(t) && t.find(".tmp") == std::string::npos) out.emplace_back(g, t);
    }
  }
  return out;
}

}  // namespace viewpipe
