#include "common/json_writer.h"

#include <gtest/gtest.h>

#include <limits>
#include <string>

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

std::string Double(double v) {
  std::string out = "x";
  AppendJsonDouble(&out, v);
  return out;
}

TEST(JsonWriterTest, DoublesAreTheShortestNumberThatReadsBackExactly) {
  EXPECT_EQ(Double(0.6), "x0.6");
  EXPECT_EQ(Double(0.1 + 0.2), "x0.30000000000000004");  // not the double nearest 0.3
  EXPECT_EQ(Double(2), "x2");
  EXPECT_EQ(Double(-1.5), "x-1.5");
  EXPECT_EQ(Double(1e21), "x1e+21");
  EXPECT_EQ(Double(std::numeric_limits<double>::denorm_min()), "x5e-324");
  EXPECT_EQ(Double(std::numeric_limits<double>::max()), "x1.7976931348623157e+308");
  EXPECT_EQ(Double(std::numeric_limits<double>::quiet_NaN()), "xnull");
  EXPECT_EQ(Double(-std::numeric_limits<double>::infinity()), "xnull");
  for (double v : {0.1, 1.0 / 3, 123456.789, 1e-7, 6.02214076e23}) {
    const std::string text = Double(v).substr(1);
    EXPECT_EQ(std::stod(text), v) << text;
  }
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
