#include "sim/random.h"

namespace viewpipe::sim {

void FormatUuid(uint64_t hi, uint64_t lo, char* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  hi = (hi & ~0xF000ULL) | 0x4000ULL;                  // version 4
  lo = (lo & ~(0xC000ULL << 48)) | (0x8000ULL << 48);  // variant 10xx
  int pos = 0;
  auto put = [&](uint64_t v, int nibbles, int shift) {
    for (int i = 0; i < nibbles; ++i) out[pos++] = kHex[(v >> (shift - 4 * i)) & 0xF];
  };
  put(hi, 8, 60);
  out[pos++] = '-';
  put(hi, 4, 28);
  out[pos++] = '-';
  put(hi, 4, 12);
  out[pos++] = '-';
  put(lo, 4, 60);
  out[pos++] = '-';
  put(lo, 12, 44);
}

std::string UuidString(uint64_t hi, uint64_t lo) {
  std::string s(36, '0');
  FormatUuid(hi, lo, s.data());
  return s;
}

}  // namespace viewpipe::sim
