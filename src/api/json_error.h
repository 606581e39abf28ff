#pragma once
// The JSON error answer every route sends: {"error":"<why>"} with a status.

#include <string_view>

namespace httplib {
struct Response;
}

namespace viewpipe {

void SendJsonError(httplib::Response& res, int status, std::string_view why);

}  // namespace viewpipe
