#include "common/crc32c.h"

#include <isa-l/crc.h>

#include <algorithm>
#include <array>

namespace viewpipe::crc32c {
namespace {

constexpr uint32_t kPoly = 0x82F63B78u;  // reversed Castagnoli polynomial

constexpr std::array<uint32_t, 256> MakeTable() {
  std::array<uint32_t, 256> t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ kPoly : c >> 1;
    t[i] = c;
  }
  return t;
}
constexpr std::array<uint32_t, 256> kTable = MakeTable();

}  // namespace

namespace internal {

uint32_t ExtendPortable(uint32_t crc, const char* data, size_t n) {
  const auto* p = reinterpret_cast<const uint8_t*>(data);
  uint32_t c = ~crc;
  for (size_t i = 0; i < n; ++i) c = kTable[(c ^ p[i]) & 0xFF] ^ (c >> 8);
  return ~c;
}

}  // namespace internal

uint32_t Extend(uint32_t crc, const char* data, size_t n) {
  // ISA-L's crc32_iscsi takes and returns the register uninverted, and an
  // int length.
  constexpr size_t kChunk = size_t{1} << 30;
  uint32_t c = ~crc;
  for (size_t done = 0; done < n; done += kChunk) {
    const size_t len = std::min(kChunk, n - done);
    c = crc32_iscsi(reinterpret_cast<unsigned char*>(const_cast<char*>(data + done)),
                    static_cast<int>(len), c);
  }
  return ~c;
}

}  // namespace viewpipe::crc32c
