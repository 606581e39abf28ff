#include "ingest/gzip_body.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <string>

namespace viewpipe {
namespace {

std::string Gzip(const std::string& s) {
  z_stream z{};
  EXPECT_EQ(deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&z, s.size()) + 64, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(s.data()));
  z.avail_in = static_cast<uInt>(s.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

std::string Text(size_t n) {
  std::string s;
  for (size_t i = 0; s.size() < n; ++i) s += "{\"event_id\":\"" + std::to_string(i) + "\"}\n";
  s.resize(n);
  return s;
}

TEST(GunzipBoundedTest, RoundTripsSmallAndLargeBodies) {
  std::string out = "left over";
  for (size_t n : {size_t{0}, size_t{1}, size_t{5000}, size_t{900000}}) {
    const std::string text = Text(n);
    ASSERT_TRUE(GunzipBounded(Gzip(text), 1 << 20, &out).ok()) << n;
    EXPECT_EQ(out, text) << n;
  }
}

TEST(GunzipBoundedTest, ExactlyTheLimitPassesOneByteMoreIsAborted) {
  const std::string text = Text(100000);
  std::string out;
  EXPECT_TRUE(GunzipBounded(Gzip(text), 100000, &out).ok());
  const Status st = GunzipBounded(Gzip(text), 99999, &out);
  EXPECT_EQ(st.code(), Status::Code::kAborted) << st.ToString();
  EXPECT_LE(out.size(), 100000u);
}

TEST(GunzipBoundedTest, ABombStopsAtTheLimit) {
  const std::string zeros(64 << 20, '\0');  // 64 MiB of zeros gzip to ~64 KB
  const std::string bomb = Gzip(zeros);
  ASSERT_LT(bomb.size(), 100000u);
  std::string out;
  EXPECT_EQ(GunzipBounded(bomb, 1 << 20, &out).code(), Status::Code::kAborted);
  EXPECT_LE(out.capacity(), 4u << 20);
}

TEST(GunzipBoundedTest, ConcatenatedMembersAreOneStream) {
  std::string out;
  ASSERT_TRUE(GunzipBounded(Gzip("abc") + Gzip("def"), 100, &out).ok());
  EXPECT_EQ(out, "abcdef");
}

TEST(GunzipBoundedTest, TruncatedOrNotGzipIsInvalid) {
  const std::string gz = Gzip(Text(20000));
  std::string out;
  EXPECT_EQ(GunzipBounded(gz.substr(0, gz.size() - 5), 1 << 20, &out).code(),
            Status::Code::kInvalidArgument);
  EXPECT_EQ(GunzipBounded(gz.substr(0, gz.size() / 2), 1 << 20, &out).code(),
            Status::Code::kInvalidArgument);
  EXPECT_EQ(GunzipBounded("{\"events\":[]}", 1 << 20, &out).code(),
            Status::Code::kInvalidArgument);
  EXPECT_EQ(GunzipBounded("", 1 << 20, &out).code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(GunzipBounded(gz.substr(0, 10), 1 << 20, &out).code(), Status::Code::kInvalidArgument);
}

TEST(GunzipBoundedTest, AWrongChecksumOrTrailingBytesAreInvalid) {
  std::string gz = Gzip(Text(20000));
  std::string out;
  std::string bad_crc = gz;
  bad_crc[bad_crc.size() - 8] ^= 1;  // the trailer: CRC32, then the size
  EXPECT_EQ(GunzipBounded(bad_crc, 1 << 20, &out).code(), Status::Code::kInvalidArgument);
  std::string bad_size = gz;
  bad_size[bad_size.size() - 4] ^= 1;
  EXPECT_EQ(GunzipBounded(bad_size, 1 << 20, &out).code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(GunzipBounded(gz + "garbage", 1 << 20, &out).code(), Status::Code::kInvalidArgument);
  const std::string second = Gzip("def");
  EXPECT_EQ(GunzipBounded(gz + second.substr(0, second.size() - 3), 1 << 20, &out).code(),
            Status::Code::kInvalidArgument);
}

TEST(GunzipBoundedTest, AHeaderWithANameExtraAndCommentIsRead) {
  // What `gzip file` writes (FNAME), plus FEXTRA, FCOMMENT and FHCRC off.
  const std::string text = Text(5000);
  const std::string plain = Gzip(text);
  std::string gz = plain.substr(0, 10);
  gz[3] = static_cast<char>(0x04 | 0x08 | 0x10);  // FEXTRA | FNAME | FCOMMENT
  gz += std::string({'\x03', '\0', 'a', 'b', 'c'});  // XLEN 3, then 3 bytes
  gz += std::string("events.json\0", 12);
  gz += std::string("a comment\0", 10);
  gz += plain.substr(10);
  std::string out;
  ASSERT_TRUE(GunzipBounded(gz, 1 << 20, &out).ok());
  EXPECT_EQ(out, text);
}

TEST(GunzipBoundedTest, AReusedBufferHoldsOnlyTheNewBody) {
  std::string out;
  ASSERT_TRUE(GunzipBounded(Gzip(Text(50000)), 1 << 20, &out).ok());
  ASSERT_TRUE(GunzipBounded(Gzip("short"), 1 << 20, &out).ok());
  EXPECT_EQ(out, "short");
  ASSERT_TRUE(GunzipBounded(Gzip(""), 1 << 20, &out).ok());
  EXPECT_EQ(out, "");
}

}  // namespace
}  // namespace viewpipe
