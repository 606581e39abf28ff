#include "lake/lake_reader.h"

#include <algorithm>

#include "lake/root_log.h"

namespace viewpipe {

Result<RootManifest> LakeReader::Root() {
  return LoadLatestRoot(store_);
}

Result<DayManifest> LakeReader::Day(EventDate date, int64_t version, const std::string& tag) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = cache_.find({date, version});
    if (it != cache_.end()) return it->second;
  }
  auto json = store_->Get(DayManifestKey(date, version, tag));
  if (!json.ok()) return json.status();
  auto m = DecodeDayManifest(*json);
  if (!m.ok()) return m.status();
  std::lock_guard<std::mutex> lock(mu_);
  // Keep the cache small: drop older versions of the same day.
  std::erase_if(cache_, [&](const auto& kv) {
    return kv.first.first == date && kv.first.second < version;
  });
  cache_[{date, version}] = *m;
  return m;
}

Result<std::vector<LakeFileRef>> LakeReader::Files(const LakeRange& range, RootManifest* root) {
  auto files = FilesOnce(range, root);
  if (!files.ok() && files.status().IsNotFound()) return FilesOnce(range, root);  // GC race
  return files;
}

Result<std::vector<LakeFileRef>> LakeReader::FilesOnce(const LakeRange& range,
                                                       RootManifest* root_out) {
  auto root = Root();
  if (!root.ok()) return root.status();
  std::map<std::string, std::string> staged;  // final key -> staged key, of the last commit
  for (const Publish& p : root->pending) staged[p.to] = p.from;
  EventDate first = EventDate::OfMs(range.min_ms);
  EventDate last = EventDate::OfMs(range.max_ms);
  std::vector<LakeFileRef> out;
  for (const auto& [date, ref] : root->days) {
    if (date < first || date > last || date >= range.before_day) continue;
    auto day = Day(date, ref);
    if (!day.ok()) return day.status();
    for (const LakeFile& f : day->files) {
      int64_t hour_start = date.StartMs() + f.hour * kMsPerHour;
      if (hour_start + kMsPerHour <= range.min_ms || hour_start > range.max_ms) continue;
      LakeFileRef r{f.key, store_->ReadUri(f.key), date, f.hour, f.rows, f.bytes};
      // The newest commit's files may still be moving to their final key.
      auto s = staged.find(f.key);
      if (s != staged.end() && !store_->Exists(f.key) && store_->Exists(s->second)) {
        r.uri = store_->ReadUri(s->second);
      }
      out.push_back(std::move(r));
    }
  }
  if (root_out != nullptr) *root_out = std::move(root).value();
  return out;
}

}  // namespace viewpipe
