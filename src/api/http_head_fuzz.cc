// libFuzzer target for HttpRequestHead (the lookup port's hand-written
// request parser): any bytes must parse without a crash or a read outside
// the buffer, and an accepted head must point inside what it was given.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "api/http_request_head.h"

namespace {

bool Inside(std::string_view part, std::string_view whole) {
  return part.empty() || (part.data() >= whole.data() &&
                          part.data() + part.size() <= whole.data() + whole.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view buf(reinterpret_cast<const char*>(data), size);
  viewpipe::HttpRequestHead head;
  const auto parsed = viewpipe::HttpRequestHead::ParseFrom(buf, 8192, &head);
  if (parsed == viewpipe::HttpRequestHead::Parse::kOk) {
    if (head.head_bytes == 0 || head.head_bytes > buf.size()) std::abort();
    const std::string_view used = buf.substr(0, head.head_bytes);
    for (std::string_view part : {head.method, head.path, head.query, head.authorization,
                                  head.content_type, head.content_encoding}) {
      if (!Inside(part, used)) std::abort();
    }
    if (head.content_length > 0 && !head.has_body) std::abort();
    (void)head.Param("at");
    (void)head.Param("access_token");
  }
  (void)viewpipe::PercentDecode(buf, true);
  (void)viewpipe::PercentDecode(buf, false);
  return 0;
}
