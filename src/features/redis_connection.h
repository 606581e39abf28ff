#pragma once
// RedisConnection: one hiredis connection (redis://[:password@]host[:port][/db])
// with binary-safe commands and pipelines. Errors become Status: a refused
// connection, a timeout or a broken socket is Unavailable (the message names
// the server), after which the connection is unusable (broken() is true) and
// the caller makes a new one; an error reply is IOError (NoSpace for OOM).

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

struct redisContext;
struct redisReply;

namespace viewpipe::features {

struct RedisAddress {
  std::string host = "127.0.0.1";
  int port = 6379;
  int db = 0;
  std::string password;
  std::string ToString() const;  // host:port/db, never the password
};

// Parses redis://[:password@]host[:port][/db]. InvalidArgument names the problem.
Result<RedisAddress> ParseRedisUrl(std::string_view url);

struct ReplyDeleter {
  void operator()(redisReply* r) const;
};
using RedisReplyPtr = std::unique_ptr<redisReply, ReplyDeleter>;
using RedisArgs = std::vector<std::string>;

class RedisConnection {
 public:
  // Connects (and AUTH, SELECT db) within timeout; Unavailable on failure.
  static Result<std::unique_ptr<RedisConnection>> Connect(const RedisAddress& address,
                                                          std::chrono::milliseconds timeout);
  ~RedisConnection();
  RedisConnection(const RedisConnection&) = delete;
  RedisConnection& operator=(const RedisConnection&) = delete;

  // Sends every command, then reads every reply (one round trip). A reply
  // that is an error is returned as such (callers check it with ReplyError).
  Result<std::vector<RedisReplyPtr>> Pipeline(const std::vector<RedisArgs>& commands);
  Result<RedisReplyPtr> Command(const RedisArgs& args);
  bool broken() const { return broken_; }

  // OK unless r is an error reply: IOError (NoSpace for OOM) with what.
  static Status ReplyError(const redisReply* r, std::string_view what);

 private:
  RedisConnection(redisContext* ctx, RedisAddress address);
  Status IoError(std::string_view what);

  redisContext* ctx_;
  RedisAddress address_;
  bool broken_ = false;
};

}  // namespace viewpipe::features
