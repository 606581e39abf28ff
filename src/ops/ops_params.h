#pragma once
// Query-parameter parsing shared by the ops routes of one process
// (ops_routes.cc) and of the ops group (src/opsgroup/ops_group_routes.cc).

#include <cstdint>
#include <optional>
#include <string>

namespace httplib {
struct Request;
}

namespace viewpipe::ops {

// An optional integer parameter; false (with *why set) when present but bad.
bool IntParam(const httplib::Request& req, const char* name, int64_t min,
              std::optional<int64_t>* out, std::string* why);

}  // namespace viewpipe::ops
