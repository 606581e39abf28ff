#include "common/status.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace viewpipe {

Status Status::FromErrno(int err, std::string_view context) {
  std::string msg(context);
  msg += ": ";
  msg += std::strerror(err);
  switch (err) {
    case ENOENT:
      return NotFound(msg);
    case ENOSPC:
    case EDQUOT:
      return NoSpace(msg);
    default:
      return IOError(msg);
  }
}

const std::string& Status::message() const {
  static const std::string kEmpty;
  return msg_ ? *msg_ : kEmpty;
}

std::string Status::ToString() const {
  const char* name = "OK";
  switch (code_) {
    case Code::kOk: return "OK";
    case Code::kNotFound: name = "NotFound"; break;
    case Code::kCorruption: name = "Corruption"; break;
    case Code::kInvalidArgument: name = "InvalidArgument"; break;
    case Code::kIOError: name = "IOError"; break;
    case Code::kNoSpace: name = "NoSpace"; break;
    case Code::kUnavailable: name = "Unavailable"; break;
    case Code::kAborted: name = "Aborted"; break;
  }
  return std::string(name) + ": " + message();
}

void InvariantFailed(const char* expr, const char* file, int line, const char* msg) {
  std::fprintf(stderr, "invariant failed at %s:%d: %s (%s)\n", file, line, msg, expr);
  std::abort();
}

}  // namespace viewpipe
