#pragma once
// StateWriter / StateReader: the varint encoding of feature_state.h.
// A reader that meets truncated or malformed input sets failed() and
// returns zeros from then on; callers check failed() once at the end.

#include <cstdint>
#include <string>
#include <string_view>

namespace viewpipe::features {

class StateWriter {
 public:
  void Int(int64_t v);
  void Count(uint64_t v);
  void Str(std::string_view s);
  void Double(double v);
  std::string& out() { return out_; }

 private:
  std::string out_;
};

class StateReader {
 public:
  explicit StateReader(std::string_view in) : in_(in) {}
  int64_t Int();
  // A count, failing when it exceeds max (guards allocations).
  uint64_t Count(uint64_t max);
  std::string Str();
  double Double();
  bool failed() const { return failed_; }
  bool done() const { return in_.empty(); }

 private:
  uint64_t Varint();
  std::string_view in_;
  bool failed_ = false;
};

}  // namespace viewpipe::features
