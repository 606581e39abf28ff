#include "features/rocksdb_feature_store.h"

#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include <charconv>

namespace viewpipe::features {
namespace {

constexpr std::string_view kOffsetPrefix = "o/";

std::string KeyOf(const FeatureKey& k) { return StoreKeyName(k); }

Status FromRocks(const rocksdb::Status& s, const char* what) {
  if (s.ok()) return Status::OK();
  const std::string msg = std::string("rocksdb ") + what + ": " + s.ToString();
  if (s.IsCorruption()) return Status::Corruption(msg);
  if (s.IsNoSpace()) return Status::NoSpace(msg);
  if (s.IsBusy() || s.IsTryAgain()) return Status::Unavailable(msg);
  return Status::IOError(msg);
}

std::string EncodeOffset(Offset o) {
  std::string b(8, '\0');
  for (int i = 0; i < 8; ++i)
    b[7 - i] = static_cast<char>((static_cast<uint64_t>(o) >> (8 * i)) & 0xff);
  return b;
}

}  // namespace

RocksDbFeatureStore::RocksDbFeatureStore(std::unique_ptr<rocksdb::DB> db, RocksDbOptions options)
    : db_(std::move(db)), options_(options) {}

RocksDbFeatureStore::~RocksDbFeatureStore() {
  if (db_) db_->Close().PermitUncheckedError();
}

Result<std::unique_ptr<RocksDbFeatureStore>> RocksDbFeatureStore::Open(const std::string& dir,
                                                                       RocksDbOptions options) {
  rocksdb::Options o;
  o.create_if_missing = true;
  o.IncreaseParallelism(2);
  o.max_background_jobs = 2;
  rocksdb::BlockBasedTableOptions t;
  t.block_cache = rocksdb::NewLRUCache(options.block_cache_bytes);
  t.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  o.table_factory.reset(rocksdb::NewBlockBasedTableFactory(t));
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(o, dir, &raw);
  VP_RETURN_IF_ERROR(FromRocks(s, "open"));
  return std::unique_ptr<RocksDbFeatureStore>(
      new RocksDbFeatureStore(std::unique_ptr<rocksdb::DB>(raw), options));
}

Result<std::optional<std::string>> RocksDbFeatureStore::Get(const FeatureKey& key) {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), KeyOf(key), &value);
  if (s.IsNotFound()) return std::optional<std::string>();
  VP_RETURN_IF_ERROR(FromRocks(s, "get"));
  return std::optional<std::string>(std::move(value));
}

Result<std::vector<std::optional<std::string>>> RocksDbFeatureStore::MultiGet(
    std::span<const FeatureKey> keys) {
  std::vector<std::string> names;
  names.reserve(keys.size());
  for (const FeatureKey& k : keys) names.push_back(KeyOf(k));
  std::vector<rocksdb::Slice> slices(names.begin(), names.end());
  std::vector<std::string> values;
  std::vector<rocksdb::Status> st = db_->MultiGet(rocksdb::ReadOptions(), slices, &values);
  std::vector<std::optional<std::string>> out(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    if (st[i].IsNotFound()) continue;
    VP_RETURN_IF_ERROR(FromRocks(st[i], "multiget"));
    out[i] = std::move(values[i]);
  }
  return out;
}

Status RocksDbFeatureStore::CheckFence(const FeatureBatch& batch) {
  if (batch.expected_offsets.empty()) return Status::OK();
  auto stored = Offsets();
  if (!stored.ok()) return stored.status();
  for (const auto& [p, want] : batch.expected_offsets) {
    auto it = stored->find(p);
    const std::optional<Offset> have =
        it == stored->end() ? std::nullopt : std::optional<Offset>(it->second);
    if (have != want) return FencedError(p, have, want);
  }
  return Status::OK();
}

Status RocksDbFeatureStore::Write(const FeatureBatch& batch) {
  // One writer at a time, so a fenced batch's check and write are atomic.
  std::lock_guard lock(write_mu_);
  VP_RETURN_IF_ERROR(CheckFence(batch));
  rocksdb::WriteBatch wb;
  for (const FeaturePut& p : batch.puts) {
    VP_RETURN_IF_ERROR(FromRocks(wb.Put(KeyOf(p.key), p.value), "batch"));
  }
  for (const FeatureKey& k : batch.deletes) {
    VP_RETURN_IF_ERROR(FromRocks(wb.Delete(KeyOf(k)), "batch"));
  }
  for (const auto& [partition, offset] : batch.offsets) {
    VP_RETURN_IF_ERROR(FromRocks(
        wb.Put(std::string(kOffsetPrefix) + std::to_string(partition), EncodeOffset(offset)),
        "batch"));
  }
  rocksdb::WriteOptions w;
  w.sync = options_.sync;
  return FromRocks(db_->Write(w, &wb), "write");
}

Status RocksDbFeatureStore::Scan(
    FeatureKind kind, const std::function<bool(std::string_view, std::string_view)>& fn) {
  const std::string prefix = KeyOf(FeatureKey{kind, ""});
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    const std::string_view id(it->key().data() + prefix.size(), it->key().size() - prefix.size());
    if (!fn(id, std::string_view(it->value().data(), it->value().size()))) break;
  }
  return FromRocks(it->status(), "scan");
}

Result<std::map<PartitionId, Offset>> RocksDbFeatureStore::Offsets() {
  std::map<PartitionId, Offset> out;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  for (it->Seek(kOffsetPrefix); it->Valid() && it->key().starts_with(kOffsetPrefix); it->Next()) {
    std::string_view name(it->key().data() + 2, it->key().size() - 2);
    PartitionId p = 0;
    auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), p);
    if (ec != std::errc() || end != name.data() + name.size() || it->value().size() != 8) {
      return Status::Corruption("bad offset entry in the feature store");
    }
    uint64_t v = 0;
    for (size_t i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(it->value()[i]);
    out[p] = static_cast<Offset>(v);
  }
  VP_RETURN_IF_ERROR(FromRocks(it->status(), "scan offsets"));
  return out;
}

}  // namespace viewpipe::features
