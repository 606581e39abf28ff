#include "features/redis_feature_store.h"

#include <hiredis/hiredis.h>

#include <charconv>
#include <unordered_set>

namespace viewpipe::features {
namespace {

constexpr std::string_view kOffsetsKey = "offsets";

// Escapes the glob characters of a literal for SCAN MATCH.
std::string GlobLiteral(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

// The fenced write (FeatureBatch::expected_offsets), atomic as any script:
// checks every expected offset in the offsets hash KEYS[1] first and writes
// nothing on a mismatch, then MSET states, DEL, HSET offsets, in chunks
// (Lua's unpack takes a few thousand values at most). ARGV: n, n x
// (partition, expected or ""), n, n x (key, value), n, n x key, n, n x
// (partition, offset). A write refused for OOM can only be the first one,
// before anything changed (Redis lets a script that already wrote go on).
constexpr std::string_view kFencedWriteScript = R"lua(
local h = KEYS[1]
local i = 1
local function count() local n = tonumber(ARGV[i]); i = i + 1; return n end
local n = count()
for _ = 1, n do
  local have = redis.call('HGET', h, ARGV[i]) or ''
  if have ~= ARGV[i + 1] then
    return redis.error_reply('FENCED ' .. ARGV[i] .. ' ' .. (have == '' and '-' or have))
  end
  i = i + 2
end
local function chunked(cmd, key, width)
  local n = count()
  local last = i + n * width - 1
  while i <= last do
    local e = math.min(last, i + 500 * width - 1)
    if key then redis.call(cmd, key, unpack(ARGV, i, e))
    else redis.call(cmd, unpack(ARGV, i, e)) end
    i = e + 1
  end
end
chunked('MSET', nil, 2)
chunked('DEL', nil, 1)
chunked('HSET', h, 2)
return 'OK'
)lua";

Result<std::optional<std::string>> StringOrNil(const redisReply* r, std::string_view what) {
  VP_RETURN_IF_ERROR(RedisConnection::ReplyError(r, what));
  if (r->type == REDIS_REPLY_NIL) return std::optional<std::string>();
  if (r->type != REDIS_REPLY_STRING) {
    return Status::Corruption("redis " + std::string(what) + ": unexpected reply type");
  }
  return std::optional<std::string>(std::string(r->str, r->len));
}

template <typename T>
bool ParseNumber(const redisReply* r, T* out) {
  if (r->type != REDIS_REPLY_STRING) return false;
  auto [end, ec] = std::from_chars(r->str, r->str + r->len, *out);
  return ec == std::errc() && end == r->str + r->len;
}

// The error of a script reply "FENCED <partition> <stored offset or ->".
Status FencedOf(std::string_view msg, const FeatureBatch& batch) {
  msg.remove_prefix(7);
  const size_t space = msg.find(' ');
  PartitionId p = 0;
  std::from_chars(msg.data(), msg.data() + std::min(space, msg.size()), p);
  std::optional<Offset> have;
  if (space != std::string_view::npos && msg.substr(space + 1) != "-") {
    Offset o = 0;
    std::from_chars(msg.data() + space + 1, msg.data() + msg.size(), o);
    have = o;
  }
  auto it = batch.expected_offsets.find(p);
  return FencedError(p, have, it == batch.expected_offsets.end() ? std::nullopt : it->second);
}

}  // namespace

RedisFeatureStore::RedisFeatureStore(RedisStoreOptions options, RedisAddress address)
    : options_(std::move(options)), address_(std::move(address)) {}

RedisFeatureStore::~RedisFeatureStore() = default;

Result<std::unique_ptr<RedisFeatureStore>> RedisFeatureStore::Open(RedisStoreOptions options) {
  auto address = ParseRedisUrl(options.url);
  if (!address.ok()) return address.status();
  std::unique_ptr<RedisFeatureStore> store(
      new RedisFeatureStore(std::move(options), std::move(address).value()));
  auto pong = store->Run({{"PING"}});
  if (!pong.ok()) return pong.status();
  VP_RETURN_IF_ERROR(RedisConnection::ReplyError((*pong)[0].get(), "ping"));
  return store;
}

std::string RedisFeatureStore::KeyOf(const FeatureKey& k) const {
  return options_.key_prefix + StoreKeyName(k);
}

Result<std::vector<RedisReplyPtr>> RedisFeatureStore::Run(const std::vector<RedisArgs>& commands) {
  std::unique_ptr<RedisConnection> conn;
  {
    std::lock_guard lock(mu_);
    if (!idle_.empty()) {
      conn = std::move(idle_.back());
      idle_.pop_back();
    }
  }
  if (conn == nullptr) {
    auto c = RedisConnection::Connect(address_, options_.timeout);
    if (!c.ok()) return c.status();
    conn = std::move(c).value();
  }
  auto replies = conn->Pipeline(commands);
  if (!conn->broken()) {
    std::lock_guard lock(mu_);
    if (idle_.size() < options_.max_idle_connections) idle_.push_back(std::move(conn));
  }
  return replies;
}

Result<std::optional<std::string>> RedisFeatureStore::Get(const FeatureKey& key) {
  auto r = Run({{"GET", KeyOf(key)}});
  if (!r.ok()) return r.status();
  return StringOrNil((*r)[0].get(), "get");
}

Result<std::vector<std::optional<std::string>>> RedisFeatureStore::MultiGet(
    std::span<const FeatureKey> keys) {
  std::vector<std::optional<std::string>> out;
  if (keys.empty()) return out;
  RedisArgs mget{"MGET"};
  for (const FeatureKey& k : keys) mget.push_back(KeyOf(k));
  auto r = Run({mget});
  if (!r.ok()) return r.status();
  const redisReply* reply = (*r)[0].get();
  VP_RETURN_IF_ERROR(RedisConnection::ReplyError(reply, "mget"));
  if (reply->type != REDIS_REPLY_ARRAY || reply->elements != keys.size()) {
    return Status::Corruption("redis mget: unexpected reply");
  }
  out.reserve(keys.size());
  for (size_t i = 0; i < reply->elements; ++i) {
    auto v = StringOrNil(reply->element[i], "mget");
    if (!v.ok()) return v.status();
    out.push_back(std::move(v).value());
  }
  return out;
}

Status RedisFeatureStore::FencedWrite(const FeatureBatch& batch) {
  RedisArgs eval{"EVAL", std::string(kFencedWriteScript), "1",
                 options_.key_prefix + std::string(kOffsetsKey)};
  eval.push_back(std::to_string(batch.expected_offsets.size()));
  for (const auto& [p, o] : batch.expected_offsets) {
    eval.push_back(std::to_string(p));
    eval.push_back(o ? std::to_string(*o) : std::string());
  }
  eval.push_back(std::to_string(batch.puts.size()));
  for (const FeaturePut& p : batch.puts) {
    eval.push_back(KeyOf(p.key));
    eval.push_back(p.value);
  }
  eval.push_back(std::to_string(batch.deletes.size()));
  for (const FeatureKey& k : batch.deletes) eval.push_back(KeyOf(k));
  eval.push_back(std::to_string(batch.offsets.size()));
  for (const auto& [p, o] : batch.offsets) {
    eval.push_back(std::to_string(p));
    eval.push_back(std::to_string(o));
  }
  auto r = Run({eval});
  if (!r.ok()) return r.status();
  const redisReply* reply = (*r)[0].get();
  if (reply->type == REDIS_REPLY_ERROR) {
    std::string_view msg(reply->str, reply->len);
    if (msg.starts_with("FENCED ")) return FencedOf(msg, batch);
  }
  return RedisConnection::ReplyError(reply, "fenced write");
}

Status RedisFeatureStore::Write(const FeatureBatch& batch) {
  if (!batch.expected_offsets.empty()) return FencedWrite(batch);
  std::vector<RedisArgs> commands{{"MULTI"}};
  if (!batch.puts.empty()) {
    RedisArgs mset{"MSET"};
    for (const FeaturePut& p : batch.puts) {
      mset.push_back(KeyOf(p.key));
      mset.push_back(p.value);
    }
    commands.push_back(std::move(mset));
  }
  if (!batch.deletes.empty()) {
    RedisArgs del{"DEL"};
    for (const FeatureKey& k : batch.deletes) del.push_back(KeyOf(k));
    commands.push_back(std::move(del));
  }
  if (!batch.offsets.empty()) {
    RedisArgs hset{"HSET", options_.key_prefix + std::string(kOffsetsKey)};
    for (const auto& [partition, offset] : batch.offsets) {
      hset.push_back(std::to_string(partition));
      hset.push_back(std::to_string(offset));
    }
    commands.push_back(std::move(hset));
  }
  commands.push_back({"EXEC"});
  auto r = Run(commands);
  if (!r.ok()) return r.status();
  for (const RedisReplyPtr& reply : *r) {
    VP_RETURN_IF_ERROR(RedisConnection::ReplyError(reply.get(), "write"));
  }
  const redisReply* exec = r->back().get();
  if (exec->type != REDIS_REPLY_ARRAY) return Status::Aborted("redis write: EXEC aborted");
  for (size_t i = 0; i < exec->elements; ++i) {
    VP_RETURN_IF_ERROR(RedisConnection::ReplyError(exec->element[i], "write"));
  }
  return Status::OK();
}

Result<std::vector<std::string>> RedisFeatureStore::ScanKeys(const std::string& pattern,
                                                             std::string* cursor) {
  auto r = Run({{"SCAN", *cursor, "MATCH", pattern, "COUNT", "1000"}});
  if (!r.ok()) return r.status();
  const redisReply* reply = (*r)[0].get();
  VP_RETURN_IF_ERROR(RedisConnection::ReplyError(reply, "scan"));
  if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
      reply->element[0]->type != REDIS_REPLY_STRING ||
      reply->element[1]->type != REDIS_REPLY_ARRAY) {
    return Status::Corruption("redis scan: unexpected reply");
  }
  *cursor = std::string(reply->element[0]->str, reply->element[0]->len);
  std::vector<std::string> keys;
  for (size_t i = 0; i < reply->element[1]->elements; ++i) {
    const redisReply* k = reply->element[1]->element[i];
    if (k->type == REDIS_REPLY_STRING) keys.emplace_back(k->str, k->len);
  }
  return keys;
}

// SCAN is not a snapshot: a key written or deleted during the scan may or
// may not be seen; every key present for the whole scan is seen once.
Status RedisFeatureStore::Scan(
    FeatureKind kind, const std::function<bool(std::string_view, std::string_view)>& fn) {
  const std::string prefix = KeyOf(FeatureKey{kind, ""});
  const std::string pattern = GlobLiteral(prefix) + "*";
  std::unordered_set<std::string> seen;  // SCAN may return a key twice
  std::string cursor = "0";
  do {
    auto keys = ScanKeys(pattern, &cursor);
    if (!keys.ok()) return keys.status();
    std::vector<FeatureKey> batch;
    for (std::string& k : *keys) {
      if (seen.insert(k).second) batch.push_back({kind, k.substr(prefix.size())});
    }
    auto values = MultiGet(batch);
    if (!values.ok()) return values.status();
    for (size_t i = 0; i < batch.size(); ++i) {
      if ((*values)[i] && !fn(batch[i].id, *(*values)[i])) return Status::OK();
    }
  } while (cursor != "0");
  return Status::OK();
}

Result<std::map<PartitionId, Offset>> RedisFeatureStore::Offsets() {
  auto r = Run({{"HGETALL", options_.key_prefix + std::string(kOffsetsKey)}});
  if (!r.ok()) return r.status();
  const redisReply* reply = (*r)[0].get();
  VP_RETURN_IF_ERROR(RedisConnection::ReplyError(reply, "offsets"));
  if (reply->type != REDIS_REPLY_ARRAY || reply->elements % 2 != 0) {
    return Status::Corruption("redis offsets: unexpected reply");
  }
  std::map<PartitionId, Offset> out;
  for (size_t i = 0; i < reply->elements; i += 2) {
    PartitionId p = 0;
    Offset o = 0;
    if (!ParseNumber(reply->element[i], &p) || !ParseNumber(reply->element[i + 1], &o)) {
      return Status::Corruption("bad offset entry in the redis feature store");
    }
    out[p] = o;
  }
  return out;
}

}  // namespace viewpipe::features
