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
}

}  // namespace
}  // namespace viewpipe
