#pragma once
// Integer knobs from environment variables (VIEWPIPE_*): unset or empty
// leaves *out as it is; anything but an integer >= min is an error naming
// the variable.

#include <charconv>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "common/status.h"

namespace viewpipe {

template <typename T>
Status EnvInt(const char* name, int64_t min, T* out) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return Status::OK();
  std::string_view s(v);
  int64_t n = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (ec != std::errc() || p != s.data() + s.size() || n < min) {
    return Status::InvalidArgument(std::string(name) + "='" + v + "': want an integer >= " +
                                   std::to_string(min));
  }
  *out = static_cast<T>(n);
  return Status::OK();
}

}  // namespace viewpipe
