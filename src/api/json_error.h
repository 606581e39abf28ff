#pragma once
// The JSON error answer every route sends: {"error":"<why>"} with a status.

#include <string>
#include <string_view>

namespace httplib {
struct Response;
}

namespace viewpipe {

// The body alone, for servers other than cpp-httplib (the lookup port).
std::string JsonErrorBody(std::string_view why);
void SendJsonError(httplib::Response& res, int status, std::string_view why);

}  // namespace viewpipe
