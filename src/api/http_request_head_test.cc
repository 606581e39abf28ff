#include "api/http_request_head.h"

#include <gtest/gtest.h>

namespace viewpipe {
namespace {

using Parse = HttpRequestHead::Parse;

TEST(HttpRequestHeadTest, ParsesRequestLineAndHeaders) {
  const std::string buf =
      "GET /v1/features/profiles/p-1?at=5&access_token=a%2Bb HTTP/1.1\r\n"
      "Host: x\r\nauthorization:  Bearer t1 \r\n\r\nGET /next";
  HttpRequestHead h;
  ASSERT_EQ(HttpRequestHead::ParseFrom(buf, 8192, &h), Parse::kOk);
  EXPECT_EQ(h.method, "GET");
  EXPECT_EQ(h.path, "/v1/features/profiles/p-1");
  EXPECT_EQ(h.query, "at=5&access_token=a%2Bb");
  EXPECT_EQ(h.authorization, "Bearer t1");
  EXPECT_TRUE(h.keep_alive);
  EXPECT_FALSE(h.has_body);
  EXPECT_EQ(buf.substr(h.head_bytes), "GET /next");
  EXPECT_EQ(h.Param("at"), "5");
  EXPECT_EQ(h.Param("access_token"), "a+b");
  EXPECT_EQ(h.Param("a"), std::nullopt);  // a prefix of a name is not the name
}

TEST(HttpRequestHeadTest, IncompleteUntilTheBlankLineAndTooLargePastTheLimit) {
  HttpRequestHead h;
  EXPECT_EQ(HttpRequestHead::ParseFrom("GET / HTTP/1.1\r\nHost: x\r\n", 64, &h),
            Parse::kIncomplete);
  EXPECT_EQ(HttpRequestHead::ParseFrom("", 64, &h), Parse::kIncomplete);
  const std::string big = "GET / HTTP/1.1\r\nX: " + std::string(100, 'a');
  EXPECT_EQ(HttpRequestHead::ParseFrom(big, 64, &h), Parse::kTooLarge);
  // A complete head longer than the limit is too large as well.
  EXPECT_EQ(HttpRequestHead::ParseFrom(big + "\r\n\r\n", 64, &h), Parse::kTooLarge);
}

TEST(HttpRequestHeadTest, RejectsMalformedHeads) {
  HttpRequestHead h;
  for (const char* bad : {"GET\r\n\r\n", "GET / HTTP/2.0\r\n\r\n", "GET nopath HTTP/1.1\r\n\r\n",
                          "GET / HTTP/1.1\r\nno colon\r\n\r\n",
                          "GET / HTTP/1.1\r\nContent-Length: 1x\r\n\r\n",
                          "GET /a b HTTP/1.1\r\n\r\n", " / HTTP/1.1\r\n\r\n"}) {
    EXPECT_EQ(HttpRequestHead::ParseFrom(bad, 8192, &h), Parse::kBad) << bad;
  }
}

TEST(HttpRequestHeadTest, ConnectionAndBodyRules) {
  HttpRequestHead h;
  ASSERT_EQ(HttpRequestHead::ParseFrom("GET / HTTP/1.1\r\nConnection: Close\r\n\r\n", 8192, &h),
            Parse::kOk);
  EXPECT_FALSE(h.keep_alive);
  ASSERT_EQ(HttpRequestHead::ParseFrom("GET / HTTP/1.0\r\n\r\n", 8192, &h), Parse::kOk);
  EXPECT_FALSE(h.keep_alive);
  ASSERT_EQ(HttpRequestHead::ParseFrom("GET / HTTP/1.0\r\nconnection: keep-alive\r\n\r\n", 8192,
                                       &h),
            Parse::kOk);
  EXPECT_TRUE(h.keep_alive);
  ASSERT_EQ(HttpRequestHead::ParseFrom("GET / HTTP/1.1\r\nContent-Length: 0\r\n\r\n", 8192, &h),
            Parse::kOk);
  EXPECT_FALSE(h.has_body);
  ASSERT_EQ(HttpRequestHead::ParseFrom("POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\n", 8192, &h),
            Parse::kOk);
  EXPECT_TRUE(h.has_body);
  ASSERT_EQ(HttpRequestHead::ParseFrom("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
                                       8192, &h),
            Parse::kOk);
  EXPECT_TRUE(h.has_body);
  EXPECT_TRUE(h.transfer_encoding);
}

TEST(HttpRequestHeadTest, BodyHeadersForPosts) {
  HttpRequestHead h;
  ASSERT_EQ(HttpRequestHead::ParseFrom("POST /v1/events HTTP/1.1\r\ncontent-length: 190000\r\n"
                                       "Content-Type: application/x-ndjson\r\n"
                                       "Content-Encoding: gzip\r\n\r\n",
                                       8192, &h),
            Parse::kOk);
  EXPECT_EQ(h.content_length, 190000u);
  EXPECT_EQ(h.content_type, "application/x-ndjson");
  EXPECT_EQ(h.content_encoding, "gzip");
  EXPECT_FALSE(h.transfer_encoding);
  // The same length twice is fine; two different lengths are ambiguous framing.
  EXPECT_EQ(HttpRequestHead::ParseFrom(
                "POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n", 8192, &h),
            Parse::kOk);
  EXPECT_EQ(HttpRequestHead::ParseFrom(
                "POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", 8192, &h),
            Parse::kBad);
  EXPECT_EQ(HttpRequestHead::ParseFrom("POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 8192, &h),
            Parse::kBad);
  EXPECT_EQ(HttpRequestHead::ParseFrom(
                "POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n", 8192, &h),
            Parse::kBad);
}

TEST(HttpRequestHeadTest, PercentDecode) {
  EXPECT_EQ(PercentDecode("p%2D1%c3%a9", false), "p-1\xc3\xa9");
  EXPECT_EQ(PercentDecode("a+b", false), "a+b");
  EXPECT_EQ(PercentDecode("a+b", true), "a b");
  EXPECT_EQ(PercentDecode("a%2", false), std::nullopt);
  EXPECT_EQ(PercentDecode("a%", false), std::nullopt);
  EXPECT_EQ(PercentDecode("a%zz", false), std::nullopt);
}

}  // namespace
}  // namespace viewpipe
