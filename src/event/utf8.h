#pragma once
// UTF-8 well-formedness (Unicode table 3-7), byte by byte. Used only off the
// fast path: simdjson validates whole documents; this finds which bytes are
// bad so one event with invalid UTF-8 can be rejected on its own.

#include <cstddef>
#include <cstdint>

namespace viewpipe::utf8 {

// Length (1-4) of the well-formed sequence starting at p, or 0 if the bytes
// at p do not start one. Reads at most min(n, 4) bytes.
inline size_t SequenceLength(const unsigned char* p, size_t n) {
  if (n == 0) return 0;
  unsigned char b0 = p[0];
  if (b0 < 0x80) return 1;
  size_t len;
  unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    len = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    len = 3;
    if (b0 == 0xE0) lo = 0xA0;  // no overlongs
    if (b0 == 0xED) hi = 0x9F;  // no surrogates
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    len = 4;
    if (b0 == 0xF0) lo = 0x90;  // no overlongs
    if (b0 == 0xF4) hi = 0x8F;  // nothing above U+10FFFF
  } else {
    return 0;
  }
  if (n < len || p[1] < lo || p[1] > hi) return 0;
  for (size_t i = 2; i < len; ++i) {
    if ((p[i] & 0xC0) != 0x80) return 0;
  }
  return len;
}

// Number of code points in valid UTF-8 s (bytes that are not continuation bytes).
inline size_t CodePoints(const char* s, size_t n) {
  size_t count = 0;
  for (size_t i = 0; i < n; ++i) count += (static_cast<unsigned char>(s[i]) & 0xC0) != 0x80;
  return count;
}

}  // namespace viewpipe::utf8
