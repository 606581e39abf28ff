#pragma once
// HttpRequestHead: the request line and the few headers the event-loop
// server (lookup_http_server.h: GET lookups and POST /v1/events) needs,
// parsed in place from an HTTP/1.x request head. The string_views point
// into the parsed buffer: valid while it is.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace viewpipe {

struct HttpRequestHead {
  enum class Parse : uint8_t { kIncomplete, kBad, kTooLarge, kOk };

  std::string_view method;
  std::string_view path;   // as sent (percent-encoded), without the query
  std::string_view query;  // after '?', empty when none
  std::string_view authorization;
  std::string_view content_type;
  std::string_view content_encoding;
  bool keep_alive = true;   // HTTP/1.1 unless "Connection: close"; 1.0 only with keep-alive
  bool has_body = false;    // a non-zero Content-Length or any Transfer-Encoding
  bool transfer_encoding = false;  // any Transfer-Encoding (chunked): not Content-Length framed
  uint64_t content_length = 0;     // 0 when absent; two different values are kBad
  bool expect_continue = false;    // "Expect: 100-continue" (curl sends it for bodies > 1 KB)
  size_t head_bytes = 0;    // bytes of the head, the blank line included

  // Parses the head at the start of buf. kIncomplete: no blank line yet
  // (and buf is under max_bytes); kTooLarge: no blank line within
  // max_bytes; kBad: not a well-formed HTTP/1.0 or 1.1 request head.
  static Parse ParseFrom(std::string_view buf, size_t max_bytes, HttpRequestHead* out);

  // The percent-decoded value of query parameter name (the first one;
  // '+' is a space), nullopt when absent or badly encoded.
  std::optional<std::string> Param(std::string_view name) const;
};

// Percent-decodes s ("%41" -> "A"; '+' stays unless plus_is_space).
// nullopt on a truncated or non-hex escape.
std::optional<std::string> PercentDecode(std::string_view s, bool plus_is_space);

}  // namespace viewpipe
