#include "lake/root_log.h"

#include <cstdio>

namespace viewpipe {

std::string RootKey(int64_t version) {
  char buf[48];
  std::snprintf(buf, sizeof(buf), "r%020lld.json", static_cast<long long>(version));
  return std::string(kRootsPrefix) + buf;
}

int64_t RootVersionOfKey(const std::string& key) {
  const std::string_view prefix = kRootsPrefix;
  // "r" + 20 digits + ".json"
  if (key.size() != prefix.size() + 26 || key.rfind(prefix, 0) != 0) return 0;
  std::string_view name(key);
  name.remove_prefix(prefix.size());
  if (name[0] != 'r' || name.substr(21) != ".json") return 0;
  int64_t v = 0;
  for (char c : name.substr(1, 20)) {
    if (c < '0' || c > '9') return 0;
    v = v * 10 + (c - '0');
  }
  return v;
}

namespace {

Result<RootManifest> LoadRoot(ObjectStore* store, const std::string& key) {
  auto json = store->Get(key);
  if (!json.ok()) return json.status();
  auto root = DecodeRootManifest(*json);
  if (!root.ok()) return Status::Corruption(key + ": " + root.status().ToString());
  return root;
}

}  // namespace

Result<RootManifest> LoadLatestRoot(ObjectStore* store) {
  // The newest listed root can be pruned between the list and the read
  // only after kKeptRoots newer commits: list again then.
  Status last;
  for (int attempt = 0; attempt < 5; ++attempt) {
    auto listed = store->List(kRootsPrefix);
    if (!listed.ok()) return listed.status();
    int64_t newest = 0;
    for (const ObjectInfo& o : *listed) newest = std::max(newest, RootVersionOfKey(o.key));
    if (newest == 0) {
      auto legacy = LoadRoot(store, kRootManifestKey);
      if (legacy.ok() || !legacy.status().IsNotFound()) return legacy;
      // A first versioned commit may have removed it just now.
      auto again = store->List(kRootsPrefix);
      if (!again.ok()) return again.status();
      if (!again->empty()) continue;
      return RootManifest{};
    }
    auto root = LoadRoot(store, RootKey(newest));
    if (root.ok() || !root.status().IsNotFound()) return root;
    last = root.status();
  }
  return last;
}

Status CreateRoot(ObjectStore* store, const RootManifest& root) {
  const std::string key = RootKey(root.version);
  const std::string json = EncodeRootManifest(root);
  Status st = store->PutIfAbsent(key, json);
  if (!IsAlreadyExists(st)) return st;
  auto stored = store->Get(key);
  if (stored.ok() && *stored == json) return Status::OK();  // our own retried request
  return st;
}

Status PruneRoots(ObjectStore* store, int64_t current, bool legacy) {
  if (legacy) VP_RETURN_IF_ERROR(store->Delete(kRootManifestKey));
  if (current % 10 != 0) return Status::OK();  // one List every 10 commits
  auto listed = store->List(kRootsPrefix);
  if (!listed.ok()) return listed.status();
  for (const ObjectInfo& o : *listed) {
    int64_t v = RootVersionOfKey(o.key);
    if (v > 0 && v <= current - kKeptRoots) VP_RETURN_IF_ERROR(store->Delete(o.key));
  }
  return Status::OK();
}

}  // namespace viewpipe
