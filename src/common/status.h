#pragma once
// Status and Result<T>: how errors cross module boundaries (STYLE.md rule 4).
// A Status is cheap when OK (no allocation). Result<T> holds either a value
// or a non-OK Status.

#include <cassert>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace viewpipe {

class Status {
 public:
  enum class Code {
    kOk = 0,
    kNotFound,
    kCorruption,
    kInvalidArgument,
    kIOError,
    kNoSpace,       // disk full (ENOSPC / EDQUOT)
    kUnavailable,   // backend temporarily cannot take more (retry later)
    kAborted,
  };

  Status() = default;
  static Status OK() { return Status(); }
  static Status NotFound(std::string_view msg) { return Status(Code::kNotFound, msg); }
  static Status Corruption(std::string_view msg) { return Status(Code::kCorruption, msg); }
  static Status InvalidArgument(std::string_view msg) {
    return Status(Code::kInvalidArgument, msg);
  }
  static Status IOError(std::string_view msg) { return Status(Code::kIOError, msg); }
  static Status NoSpace(std::string_view msg) { return Status(Code::kNoSpace, msg); }
  static Status Unavailable(std::string_view msg) { return Status(Code::kUnavailable, msg); }
  static Status Aborted(std::string_view msg) { return Status(Code::kAborted, msg); }
  // Maps an errno from a failed system call on `context` (usually a path).
  static Status FromErrno(int err, std::string_view context);

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  bool IsNotFound() const { return code_ == Code::kNotFound; }
  bool IsCorruption() const { return code_ == Code::kCorruption; }
  bool IsNoSpace() const { return code_ == Code::kNoSpace; }
  const std::string& message() const;
  std::string ToString() const;

 private:
  Status(Code code, std::string_view msg)
      : code_(code), msg_(std::make_shared<const std::string>(msg)) {}
  Code code_ = Code::kOk;
  std::shared_ptr<const std::string> msg_;
};

template <typename T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {  // NOLINT
    assert(!std::get<Status>(v_).ok() && "Result built from an OK status");
  }
  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }

 private:
  std::variant<T, Status> v_;
};

// Fails loudly on a broken invariant (programmer error), in every build type.
[[noreturn]] void InvariantFailed(const char* expr, const char* file, int line, const char* msg);
#define VP_CHECK(cond, msg) \
  ((cond) ? (void)0 : ::viewpipe::InvariantFailed(#cond, __FILE__, __LINE__, (msg)))

#define VP_RETURN_IF_ERROR(expr)          \
  do {                                    \
    ::viewpipe::Status _st = (expr);      \
    if (!_st.ok()) return _st;            \
  } while (0)

}  // namespace viewpipe
