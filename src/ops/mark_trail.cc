#include "ops/mark_trail.h"

namespace viewpipe::ops::trail {

void Decode(const uint16_t* units, size_t n, int64_t first_ts, std::vector<Mark>* out) {
  const uint16_t* p = units;
  const uint16_t* end = units + n;
  int64_t ts = first_ts;
  while (p < end) {
    uint64_t v;
    p = Get(p, &v);
    ts += static_cast<int64_t>(v >> 1);
    out->push_back(Mark{ts, (v & 1) != 0});
  }
}

size_t EncodedUnits(std::span<const Mark> marks) {
  size_t n = 0;
  int64_t prev = marks.empty() ? 0 : marks[0].ts;
  for (const Mark& m : marks) {
    n += Units(Value(m.ts - prev, m.terminal));
    prev = m.ts;
  }
  return n;
}

size_t Encode(std::span<const Mark> marks, uint16_t* out) {
  uint16_t* p = out;
  int64_t prev = marks.empty() ? 0 : marks[0].ts;
  for (const Mark& m : marks) {
    p = Put(p, Value(m.ts - prev, m.terminal));
    prev = m.ts;
  }
  return static_cast<size_t>(p - out);
}

bool Valid(const uint16_t* units, size_t n) {
  if (n == 0) return false;
  size_t i = 0;
  while (i < n) {
    int groups = 0;
    while (i < n && (units[i] & 0x8000) != 0) {
      ++i;
      if (++groups > 4) return false;  // deltas stay far below 2^60
    }
    if (i == n) return false;  // a value without its last unit
    ++i;
  }
  return true;
}

}  // namespace viewpipe::ops::trail
