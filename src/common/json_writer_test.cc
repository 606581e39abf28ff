#include "common/json_writer.h"

#include <gtest/gtest.h>

#include <limits>

namespace viewpipe {
namespace {

std::string Str(std::string_view s) {
  std::string out;
  AppendJsonString(&out, s);
  return out;
}

std::string Int(int64_t v) {
  std::string out = "x";
  AppendJsonInt(&out, v);
  return out;
}

TEST(JsonWriterTest, StringsEscapeQuotesBackslashesAndControls) {
  EXPECT_EQ(Str(""), "\"\"");
  EXPECT_EQ(Str("plain p-00012 text"), "\"plain p-00012 text\"");
  EXPECT_EQ(Str("a\"b\\c"), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(Str("\n\r\t"), "\"\\n\\r\\t\"");
  EXPECT_EQ(Str(std::string_view("x\x01y\x1f", 4)), "\"x\\u0001y\\u001f\"");
  EXPECT_EQ(Str(std::string_view("\0", 1)), "\"\\u0000\"");
}

TEST(JsonWriterTest, StringsKeepValidUtf8AndReplaceInvalidBytes) {
  EXPECT_EQ(Str("caf\xc3\xa9 \xf0\x9f\x8e\xac!"), "\"caf\xc3\xa9 \xf0\x9f\x8e\xac!\"");
  EXPECT_EQ(Str("a\xff" "b"), "\"a\xEF\xBF\xBD" "b\"");
  EXPECT_EQ(Str("\xc3"), "\"\xEF\xBF\xBD\"");                     // truncated sequence
  EXPECT_EQ(Str("\xed\xa0\x80"), "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\"");  // surrogate
}

TEST(JsonWriterTest, IntsAppendTheirDecimalDigits) {
  EXPECT_EQ(Int(0), "x0");
  EXPECT_EQ(Int(-42), "x-42");
  EXPECT_EQ(Int(1795955162190), "x1795955162190");
  EXPECT_EQ(Int(std::numeric_limits<int64_t>::max()), "x9223372036854775807");
  EXPECT_EQ(Int(std::numeric_limits<int64_t>::min()), "x-9223372036854775808");
}

}  // namespace
}  // namespace viewpipe
