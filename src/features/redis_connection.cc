#include "features/redis_connection.h"

#include <hiredis/hiredis.h>

#include <charconv>

namespace viewpipe::features {
namespace {

bool ParseInt(std::string_view s, int* out) {
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && end == s.data() + s.size();
}

}  // namespace

std::string RedisAddress::ToString() const {
  return host + ":" + std::to_string(port) + "/" + std::to_string(db);
}

Result<RedisAddress> ParseRedisUrl(std::string_view url) {
  constexpr std::string_view kScheme = "redis://";
  if (!url.starts_with(kScheme)) {
    return Status::InvalidArgument("redis url must start with redis://: " + std::string(url));
  }
  std::string_view rest = url.substr(kScheme.size());
  RedisAddress a;
  if (size_t at = rest.rfind('@'); at != std::string_view::npos) {
    std::string_view user_pass = rest.substr(0, at);
    const size_t colon = user_pass.find(':');
    a.password = std::string(colon == std::string_view::npos ? user_pass
                                                             : user_pass.substr(colon + 1));
    rest = rest.substr(at + 1);
  }
  if (size_t slash = rest.find('/'); slash != std::string_view::npos) {
    std::string_view db = rest.substr(slash + 1);
    if (!db.empty() && (!ParseInt(db, &a.db) || a.db < 0)) {
      return Status::InvalidArgument("redis url: bad database number: " + std::string(db));
    }
    rest = rest.substr(0, slash);
  }
  if (size_t colon = rest.rfind(':'); colon != std::string_view::npos) {
    if (!ParseInt(rest.substr(colon + 1), &a.port) || a.port <= 0 || a.port > 65535) {
      return Status::InvalidArgument("redis url: bad port in " + std::string(url));
    }
    rest = rest.substr(0, colon);
  }
  if (!rest.empty()) a.host = std::string(rest);
  return a;
}

void ReplyDeleter::operator()(redisReply* r) const {
  if (r != nullptr) freeReplyObject(r);
}

RedisConnection::RedisConnection(redisContext* ctx, RedisAddress address)
    : ctx_(ctx), address_(std::move(address)) {}

RedisConnection::~RedisConnection() {
  if (ctx_ != nullptr) redisFree(ctx_);
}

Result<std::unique_ptr<RedisConnection>> RedisConnection::Connect(
    const RedisAddress& address, std::chrono::milliseconds timeout) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
  redisContext* ctx = redisConnectWithTimeout(address.host.c_str(), address.port, tv);
  if (ctx == nullptr) return Status::Unavailable("redis " + address.ToString() + ": out of memory");
  if (ctx->err != 0) {
    const std::string msg = "redis " + address.ToString() + " unavailable: " + ctx->errstr;
    redisFree(ctx);
    return Status::Unavailable(msg);
  }
  if (redisSetTimeout(ctx, tv) != REDIS_OK) {
    redisFree(ctx);
    return Status::Unavailable("redis " + address.ToString() + ": cannot set the timeout");
  }
  std::unique_ptr<RedisConnection> c(new RedisConnection(ctx, address));
  std::vector<RedisArgs> setup;
  if (!address.password.empty()) setup.push_back({"AUTH", address.password});
  if (address.db != 0) setup.push_back({"SELECT", std::to_string(address.db)});
  if (!setup.empty()) {
    auto replies = c->Pipeline(setup);
    if (!replies.ok()) return replies.status();
    for (const RedisReplyPtr& r : *replies) VP_RETURN_IF_ERROR(ReplyError(r.get(), "connect"));
  }
  return c;
}

Status RedisConnection::IoError(std::string_view what) {
  broken_ = true;
  std::string why = ctx_->errstr[0] != '\0' ? ctx_->errstr : "connection lost";
  if (ctx_->err == REDIS_ERR_IO && (why.find("temporarily") != std::string::npos ||
                                    why.find("timed out") != std::string::npos)) {
    why = "timed out";
  }
  return Status::Unavailable("redis " + address_.ToString() + " " + std::string(what) + ": " + why);
}

Result<std::vector<RedisReplyPtr>> RedisConnection::Pipeline(
    const std::vector<RedisArgs>& commands) {
  if (broken_) return Status::Unavailable("redis " + address_.ToString() + ": connection lost");
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  for (const RedisArgs& args : commands) {
    argv.clear();
    lens.clear();
    for (const std::string& a : args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    if (redisAppendCommandArgv(ctx_, static_cast<int>(argv.size()), argv.data(), lens.data()) !=
        REDIS_OK) {
      return IoError("send");
    }
  }
  std::vector<RedisReplyPtr> replies;
  replies.reserve(commands.size());
  for (size_t i = 0; i < commands.size(); ++i) {
    void* raw = nullptr;
    if (redisGetReply(ctx_, &raw) != REDIS_OK || raw == nullptr) return IoError("reply");
    replies.emplace_back(static_cast<redisReply*>(raw));
  }
  return replies;
}

Result<RedisReplyPtr> RedisConnection::Command(const RedisArgs& args) {
  auto replies = Pipeline({args});
  if (!replies.ok()) return replies.status();
  return std::move((*replies)[0]);
}

Status RedisConnection::ReplyError(const redisReply* r, std::string_view what) {
  if (r == nullptr || r->type != REDIS_REPLY_ERROR) return Status::OK();
  const std::string msg = "redis " + std::string(what) + ": " + std::string(r->str, r->len);
  if (msg.find("OOM") != std::string::npos) return Status::NoSpace(msg);
  if (msg.find("LOADING") != std::string::npos) return Status::Unavailable(msg);
  return Status::IOError(msg);
}

}  // namespace viewpipe::features
