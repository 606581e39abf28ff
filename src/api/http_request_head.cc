#include "api/http_request_head.h"

#include <charconv>

namespace viewpipe {
namespace {

bool IEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Whether a comma-separated header value lists token (case-insensitive).
bool ListsToken(std::string_view value, std::string_view token) {
  while (!value.empty()) {
    const size_t comma = value.find(',');
    if (IEquals(Trim(value.substr(0, comma)), token)) return true;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return false;
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// "GET /path?query HTTP/1.1"
bool ParseRequestLine(std::string_view line, HttpRequestHead* out, bool* http10) {
  const size_t sp1 = line.find(' ');
  const size_t sp2 = line.rfind(' ');
  if (sp1 == std::string_view::npos || sp1 == 0 || sp2 <= sp1 + 1) return false;
  out->method = line.substr(0, sp1);
  const std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const std::string_view version = line.substr(sp2 + 1);
  if (version != "HTTP/1.1" && version != "HTTP/1.0") return false;
  if (target.front() != '/' || target.find(' ') != std::string_view::npos) return false;
  *http10 = version == "HTTP/1.0";
  const size_t q = target.find('?');
  out->path = target.substr(0, q);
  out->query = q == std::string_view::npos ? std::string_view() : target.substr(q + 1);
  return true;
}

bool ParseHeader(std::string_view line, HttpRequestHead* out, std::string_view* connection,
                 bool* seen_length) {
  const size_t colon = line.find(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  const std::string_view name = line.substr(0, colon);
  const std::string_view value = Trim(line.substr(colon + 1));
  if (IEquals(name, "connection")) {
    *connection = value;
  } else if (IEquals(name, "authorization")) {
    out->authorization = value;
  } else if (IEquals(name, "content-type")) {
    out->content_type = value;
  } else if (IEquals(name, "expect")) {
    out->expect_continue = IEquals(value, "100-continue");
  } else if (IEquals(name, "content-encoding")) {
    out->content_encoding = value;
  } else if (IEquals(name, "transfer-encoding")) {
    out->has_body = true;
    out->transfer_encoding = true;
  } else if (IEquals(name, "content-length")) {
    uint64_t n = 0;
    auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
    if (ec != std::errc() || p != value.data() + value.size()) return false;
    // Two lengths that disagree: the framing is ambiguous (request smuggling).
    if (*seen_length && n != out->content_length) return false;
    *seen_length = true;
    out->content_length = n;
    out->has_body = out->has_body || n > 0;
  }
  return true;
}

}  // namespace

HttpRequestHead::Parse HttpRequestHead::ParseFrom(std::string_view buf, size_t max_bytes,
                                                  HttpRequestHead* out) {
  const size_t end = buf.find("\r\n\r\n");
  if (end == std::string_view::npos || end + 4 > max_bytes) {
    return buf.size() >= max_bytes ? Parse::kTooLarge : Parse::kIncomplete;
  }
  *out = HttpRequestHead();
  out->head_bytes = end + 4;
  std::string_view head = buf.substr(0, end + 2);  // every line ends with CRLF
  size_t eol = head.find("\r\n");
  bool http10 = false;
  if (!ParseRequestLine(head.substr(0, eol), out, &http10)) return Parse::kBad;
  std::string_view connection;
  bool seen_length = false;
  for (head.remove_prefix(eol + 2); !head.empty(); head.remove_prefix(eol + 2)) {
    eol = head.find("\r\n");
    if (!ParseHeader(head.substr(0, eol), out, &connection, &seen_length)) return Parse::kBad;
  }
  out->keep_alive = http10 ? ListsToken(connection, "keep-alive") : !ListsToken(connection, "close");
  return Parse::kOk;
}

std::optional<std::string> HttpRequestHead::Param(std::string_view name) const {
  std::string_view rest = query;
  while (!rest.empty()) {
    const size_t amp = rest.find('&');
    const std::string_view pair = rest.substr(0, amp);
    const size_t eq = pair.find('=');
    if (pair.substr(0, eq) == name) {
      return PercentDecode(eq == std::string_view::npos ? "" : pair.substr(eq + 1), true);
    }
    if (amp == std::string_view::npos) break;
    rest.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

std::optional<std::string> PercentDecode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%') {
      if (i + 2 >= s.size()) return std::nullopt;
      const int hi = HexDigit(s[i + 1]), lo = HexDigit(s[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      out.push_back(plus_is_space && s[i] == '+' ? ' ' : s[i]);
    }
  }
  return out;
}

}  // namespace viewpipe
