#pragma once
// Floor division for event times (ms and seconds may be negative in tests).

#include <cstdint>

namespace viewpipe::ops {

inline int64_t FloorDiv(int64_t a, int64_t b) {
  return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}
inline int64_t FloorMod(int64_t a, int64_t b) { return a - FloorDiv(a, b) * b; }
// The whole second holding ms.
inline int64_t SecondOf(int64_t ms) { return FloorDiv(ms, 1000); }

}  // namespace viewpipe::ops
