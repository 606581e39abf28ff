#include "api/http_response.h"

#include "common/json_writer.h"

namespace viewpipe {
namespace {

const char* Reason(int status) {
  switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 411: return "Length Required";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 431: return "Request Header Fields Too Large";
    case 503: return "Service Unavailable";
    default: return status < 500 ? "Client Error" : "Server Error";
  }
}

}  // namespace

void AppendHttpResponse(const HttpResponseHead& head, std::string_view json_body,
                        std::string* out) {
  out->append("HTTP/1.1 ");
  AppendJsonInt(out, head.status);
  out->push_back(' ');
  out->append(Reason(head.status));
  out->append("\r\nContent-Type: application/json\r\nContent-Length: ");
  AppendJsonInt(out, static_cast<int64_t>(json_body.size()));
  if (head.close) out->append("\r\nConnection: close");
  if (head.unauthorized) out->append("\r\nWWW-Authenticate: Bearer");
  if (head.retry_after_s > 0) {
    out->append("\r\nRetry-After: ");
    AppendJsonInt(out, head.retry_after_s);
  }
  out->append("\r\n\r\n");
  if (!head.head_only) out->append(json_body);
}

}  // namespace viewpipe
