#include "ops/ops_params.h"

#include <httplib.h>

#include <charconv>

namespace viewpipe::ops {

bool IntParam(const httplib::Request& req, const char* name, int64_t min,
              std::optional<int64_t>* out, std::string* why) {
  if (!req.has_param(name)) return true;
  const std::string v = req.get_param_value(name);
  int64_t n = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (v.empty() || ec != std::errc() || p != v.data() + v.size()) {
    *why = std::string(name) + " must be an integer, got '" + v + "'";
    return false;
  }
  if (n < min) {
    *why = std::string(name) + " must be at least " + std::to_string(min);
    return false;
  }
  *out = n;
  return true;
}

}  // namespace viewpipe::ops
