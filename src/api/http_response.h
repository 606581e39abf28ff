#pragma once
// The HTTP/1.1 responses of the event-loop server (lookup_http_server.h):
// a JSON body with its Content-Length, in one string ready for one send().

#include <string>
#include <string_view>

namespace viewpipe {

struct HttpResponseHead {
  int status = 200;
  bool head_only = false;     // a HEAD request: no body bytes
  bool close = false;         // Connection: close
  bool unauthorized = false;  // WWW-Authenticate: Bearer
  int retry_after_s = 0;      // > 0: Retry-After
};

// Appends the response to *out.
void AppendHttpResponse(const HttpResponseHead& head, std::string_view json_body,
                        std::string* out);

}  // namespace viewpipe
