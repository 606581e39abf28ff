// RFC 3339 timestamps: ParseRfc3339 directly and as an event's ts.

#include <gtest/gtest.h>

#include "event/parser.h"
#include "event/parser_test_util.h"

namespace viewpipe {
namespace {

using testing::EventJson;
using testing::kNow;
using testing::Outcome;

TEST(Rfc3339Test, ValidVariants) {
  struct Case {
    const char* text;
    int64_t ms;
  } cases[] = {
      {"2025-11-29T06:12:47Z", kNow - 123},
      {"2025-11-29T06:12:47.123Z", kNow},
      {"2025-11-29T06:12:47.1Z", kNow - 23},
      {"2025-11-29T06:12:47.123999999Z", kNow},
      {"2025-11-29t06:12:47.123z", kNow},
      {"2025-11-29T07:12:47.123+01:00", kNow},
      {"2025-11-29T00:42:47.123-05:30", kNow},
      {"2025-11-29T06:12:47.123-00:00", kNow},
      {"1970-01-01T00:00:00Z", 0},
      {"2024-02-29T00:00:00Z", 1709164800000},
      {"2016-12-31T23:59:60Z", 1483228800000},  // leap second: the next second
      {"1969-12-31T23:59:59.999Z", -1},
  };
  for (const Case& c : cases) {
    auto ms = ParseRfc3339(c.text);
    ASSERT_TRUE(ms.ok()) << c.text;
    EXPECT_EQ(*ms, c.ms) << c.text;
  }
}

TEST(Rfc3339Test, InvalidVariants) {
  for (const char* bad : {"",
                          "2025-11-29",
                          "2025-11-29T06:12:47",
                          "2025-11-29 06:12:47Z",
                          "2025-11-29T06:12Z",
                          "2025-13-01T00:00:00Z",
                          "2025-00-01T00:00:00Z",
                          "2025-02-29T00:00:00Z",
                          "2025-04-31T00:00:00Z",
                          "2025-11-29T24:00:00Z",
                          "2025-11-29T06:60:00Z",
                          "2025-11-29T06:12:61Z",
                          "2025-11-29T06:12:47.Z",
                          "2025-11-29T06:12:47+1:00",
                          "2025-11-29T06:12:47+01:60",
                          "2025-11-29T06:12:47+24:00",
                          "2025-11-29T06:12:47+0100",
                          "2025-11-29T06:12:47Z ",
                          " 2025-11-29T06:12:47Z",
                          "2025-1-29T06:12:47Z",
                          "+2025-11-29T06:12:47Z",
                          "2025-11-29T06:12:47,5Z",
                          "2025-11-29T06:12:47ZZ"}) {
    EXPECT_FALSE(ParseRfc3339(bad).ok()) << bad;
    EXPECT_EQ(Outcome(EventJson::Valid().SetString("ts", bad)),
              "field 'ts': not an RFC 3339 date-time")
        << bad;
  }
}

}  // namespace
}  // namespace viewpipe
