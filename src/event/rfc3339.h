#pragma once
// RFC 3339 date-times (section 5.6): "2026-11-29T06:12:47.123Z",
// "2026-11-29T07:12:47+01:00". 'T' and 'Z' may be lower case; any number of
// fraction digits (truncated to ms); a leap second (:60) counts as the next
// second. Years 0000-9999. Internal to the parser; ParseRfc3339 in parser.h
// wraps it.

#include <cstdint>
#include <string_view>

namespace viewpipe {

// Sets *ms (since the Unix epoch, UTC) and returns true if s is a valid RFC 3339 date-time.
bool ParseRfc3339Ms(std::string_view s, int64_t* ms);

}  // namespace viewpipe
