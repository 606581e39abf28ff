#pragma once
// RedisFeatureStore: the FeatureStore on a Redis server (hiredis). Keys, all
// under options.key_prefix (default "viewpipe:features:"):
//   "<prefix>p/<profile_id>"  profile state   "<prefix>t/<title_id>"  title state
//   "<prefix>s/<SessionKeyId>" session mark   "<prefix>offsets"  hash partition -> next offset
//   "<prefix>p<partition>/<id>", "<prefix>t<partition>/<id>"  partial states
// Get is GET, MultiGet one MGET, Write one MULTI/MSET/DEL/HSET/EXEC
// transaction sent as one pipeline (a client killed before EXEC leaves
// nothing: Redis discards the queued transaction); a Write with
// expected_offsets (fencing) is one EVAL of a script that checks the offsets
// and then writes, atomically. Scan is SCAN MATCH + MGET.
// Durability is the server's: run it with appendonly yes (appendfsync
// everysec loses at most ~1 s of batches on a server crash, in which case
// the offsets go back with the states; `always` loses none).
//
// Thread safe: a small pool of connections, one per concurrent caller. A
// refused connection, a timeout or a broken socket is Unavailable with the
// server in the message; the broken connection is dropped and the next call
// connects again.

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "features/feature_store.h"
#include "features/redis_connection.h"

namespace viewpipe::features {

struct RedisStoreOptions {
  std::string url = "redis://127.0.0.1:6379/0";
  std::string key_prefix = "viewpipe:features:";
  std::chrono::milliseconds timeout{2000};  // connect and every reply
  size_t max_idle_connections = 8;
};

class RedisFeatureStore final : public FeatureStore {
 public:
  // Parses the url and checks that the server answers (PING).
  static Result<std::unique_ptr<RedisFeatureStore>> Open(RedisStoreOptions options);
  ~RedisFeatureStore() override;

  Result<std::optional<std::string>> Get(const FeatureKey& key) override;
  Result<std::vector<std::optional<std::string>>> MultiGet(
      std::span<const FeatureKey> keys) override;
  Status Write(const FeatureBatch& batch) override;
  Status Scan(FeatureKind kind,
              const std::function<bool(std::string_view, std::string_view)>& fn) override;
  Result<std::map<PartitionId, Offset>> Offsets() override;

 private:
  RedisFeatureStore(RedisStoreOptions options, RedisAddress address);
  std::string KeyOf(const FeatureKey& k) const;
  // Write with expected_offsets: one EVAL of a script (check, then write).
  Status FencedWrite(const FeatureBatch& batch);
  // Runs the commands on a pooled connection (a new one if none is idle).
  Result<std::vector<RedisReplyPtr>> Run(const std::vector<RedisArgs>& commands);
  Result<std::vector<std::string>> ScanKeys(const std::string& pattern, std::string* cursor);

  RedisStoreOptions options_;
  RedisAddress address_;
  std::mutex mu_;
  std::vector<std::unique_ptr<RedisConnection>> idle_;
};

}  // namespace viewpipe::features
