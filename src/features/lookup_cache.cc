#include "features/lookup_cache.h"

#include "common/json_writer.h"

namespace viewpipe::features {
namespace {

// The as_of member of a profile answer: it follows the profile_id string,
// whose quotes are escaped, so its first occurrence is the member.
constexpr std::string_view kAsOfKey = ",\"as_of\":";

}  // namespace

LookupCache::LookupCache(size_t max_bytes, MetricsRegistry* metrics)
    : shard_max_bytes_(std::max<size_t>(1, max_bytes / kShards)) {
  for (size_t i = 0; i < kShards; ++i) shards_.push_back(std::make_unique<Shard>());
  if (metrics) {
    hits_ = metrics->GetCounter("viewpipe_features_lookup_cache_hits_total",
                                "Profile lookups answered from the lookup cache");
    misses_ = metrics->GetCounter("viewpipe_features_lookup_cache_misses_total",
                                  "Profile lookups rendered from the store");
  }
}

LookupCache::Shard& LookupCache::ShardOf(std::string_view id) {
  return *shards_[Hash()(id) % kShards];
}

bool LookupCache::Find(std::string_view id, int64_t as_of, std::string* out) {
  Shard& sh = ShardOf(id);
  {
    std::lock_guard lock(sh.mu);
    auto it = sh.entries.find(id);
    if (it != sh.entries.end() && as_of >= it->second.from && as_of < it->second.until) {
      out->append(it->second.head);
      AppendJsonInt(out, as_of);
      out->append(it->second.tail);
      if (hits_) hits_->Inc();
      return true;
    }
  }
  if (misses_) misses_->Inc();
  return false;
}

uint64_t LookupCache::Ticket(std::string_view id) {
  Shard& sh = ShardOf(id);
  std::lock_guard lock(sh.mu);
  return sh.generation;
}

void LookupCache::Insert(std::string_view id, uint64_t ticket, int64_t as_of,
                         int64_t valid_until, std::string_view body) {
  if (valid_until <= as_of) return;
  std::string digits;
  AppendJsonInt(&digits, as_of);
  const size_t key = body.find(kAsOfKey);
  if (key == std::string_view::npos) return;
  const size_t at = key + kAsOfKey.size();
  if (body.substr(at, digits.size()) != digits) return;  // not the layout expected: no entry
  Entry e;
  e.head = std::string(body.substr(0, at));
  e.tail = std::string(body.substr(at + digits.size()));
  e.from = as_of;
  e.until = valid_until;
  const size_t bytes = id.size() + e.head.size() + e.tail.size();
  Shard& sh = ShardOf(id);
  std::lock_guard lock(sh.mu);
  // A write may have begun between the store read and now.
  if (sh.generation != ticket || sh.writing > 0) return;
  if (sh.bytes + bytes > shard_max_bytes_) {
    sh.entries.clear();
    sh.bytes = 0;
  }
  auto [it, inserted] = sh.entries.try_emplace(std::string(id));
  if (!inserted) sh.bytes -= it->first.size() + it->second.head.size() + it->second.tail.size();
  it->second = std::move(e);
  sh.bytes += bytes;
}

template <typename Fn>
void LookupCache::ForShardsOf(const FeatureBatch& batch, Fn fn) {
  std::vector<std::vector<const std::string*>> ids(kShards);
  auto add = [&](const FeatureKey& k) {
    if (k.kind == FeatureKind::kProfile) ids[Hash()(k.id) % kShards].push_back(&k.id);
  };
  for (const FeaturePut& p : batch.puts) add(p.key);
  for (const FeatureKey& k : batch.deletes) add(k);
  for (size_t i = 0; i < kShards; ++i) {
    if (ids[i].empty()) continue;
    Shard& sh = *shards_[i];
    std::lock_guard lock(sh.mu);
    fn(sh);
    ++sh.generation;
    for (const std::string* id : ids[i]) {
      auto it = sh.entries.find(*id);
      if (it == sh.entries.end()) continue;
      sh.bytes -= it->first.size() + it->second.head.size() + it->second.tail.size();
      sh.entries.erase(it);
    }
  }
}

void LookupCache::BeginWrite(const FeatureBatch& batch) {
  ForShardsOf(batch, [](Shard& sh) { ++sh.writing; });
}

void LookupCache::EndWrite(const FeatureBatch& batch) {
  ForShardsOf(batch, [](Shard& sh) { --sh.writing; });
}

size_t LookupCache::entries() {
  size_t n = 0;
  for (auto& sh : shards_) {
    std::lock_guard lock(sh->mu);
    n += sh->entries.size();
  }
  return n;
}

}  // namespace viewpipe::features
