#include "common/crc32c.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace viewpipe::crc32c {
namespace {

// Bit-at-a-time reference, independent of both implementations under test.
uint32_t Reference(const std::string& s) {
  uint32_t c = 0xFFFFFFFFu;
  for (unsigned char b : s) {
    c ^= b;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
  }
  return ~c;
}

TEST(Crc32cTest, KnownVectors) {
  EXPECT_EQ(Value("123456789"), 0xE3069283u);
  EXPECT_EQ(Value(std::string(32, '\0')), 0x8A9136AAu);
  EXPECT_EQ(Value(std::string(32, '\xff')), 0x62A8AB43u);
  std::string ascending, descending;
  for (int i = 0; i < 32; ++i) {
    ascending.push_back(static_cast<char>(i));
    descending.push_back(static_cast<char>(31 - i));
  }
  EXPECT_EQ(Value(ascending), 0x46DD794Eu);
  EXPECT_EQ(Value(descending), 0x113FDB5Cu);
  EXPECT_EQ(Value(""), 0u);
}

TEST(Crc32cTest, ExtendEqualsWhole) {
  std::string s = "hello world, this is a longer string to split at every point";
  for (size_t cut = 0; cut <= s.size(); ++cut) {
    uint32_t part = Extend(Value(s.data(), cut), s.data() + cut, s.size() - cut);
    EXPECT_EQ(part, Value(s)) << "cut at " << cut;
  }
}

TEST(Crc32cTest, DetectsSingleBitFlips) {
  std::string s(100, 'x');
  uint32_t base = Value(s);
  for (size_t i = 0; i < s.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string t = s;
      t[i] = static_cast<char>(t[i] ^ (1 << bit));
      EXPECT_NE(Value(t), base);
    }
  }
}

TEST(Crc32cTest, LibraryMatchesPortableOnRandomData) {
  std::mt19937_64 rng(42);
  for (int round = 0; round < 300; ++round) {
    // Short and batch-sized buffers: ISA-L takes different paths by length.
    std::string s(rng() % (round % 3 == 0 ? 70000 : 3000), '\0');
    for (char& c : s) c = static_cast<char>(rng());
    // Unaligned starts exercise the head and tail handling.
    size_t skip = s.empty() ? 0 : rng() % std::min<size_t>(s.size(), 9);
    const char* p = s.data() + skip;
    size_t n = s.size() - skip;
    uint32_t seed = static_cast<uint32_t>(rng());
    uint32_t portable = internal::ExtendPortable(seed, p, n);
    EXPECT_EQ(Extend(seed, p, n), portable) << n;
    EXPECT_EQ(internal::ExtendPortable(0, p, n), Reference(std::string(p, n)));
  }
}

}  // namespace
}  // namespace viewpipe::crc32c
