#pragma once
// Gunzip of a request body with a bound on the decompressed size, for the
// event-loop port's POST /v1/events (the cpp-httplib port decompresses in
// the library, with zlib). A gzip bomb stops at the limit instead of
// filling memory. Inflated by ISA-L (igzip), 2.3x zlib on event bodies.

#include <cstddef>
#include <string>
#include <string_view>

#include "common/status.h"

namespace viewpipe {

// Replaces *out with the decompression of the gzip stream `in` (several
// concatenated members are one stream, as RFC 1952 allows). Aborted when
// the result would exceed `limit` bytes; InvalidArgument when `in` is not a
// complete gzip stream. *out keeps its capacity (callers reuse it).
Status GunzipBounded(std::string_view in, size_t limit, std::string* out);

}  // namespace viewpipe
