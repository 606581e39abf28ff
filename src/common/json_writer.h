#pragma once
// Appends JSON text to a string: escaping and number formatting in one place.

#include <cstdint>
#include <string>
#include <string_view>

namespace viewpipe {

// Appends s as a JSON string literal (quoted, escaped; invalid UTF-8 bytes
// are replaced by U+FFFD so the output is always valid JSON).
void AppendJsonString(std::string* out, std::string_view s);
void AppendJsonInt(std::string* out, int64_t v);
void AppendJsonDouble(std::string* out, double v);  // null for NaN/inf

}  // namespace viewpipe
