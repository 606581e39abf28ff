#pragma once
// A session's events as the definition of concurrent viewers sees them
// (events.md): only the time of each event and whether it ends the session
// (stop, or error with fatal=true) matter for "the last event at or before
// t"; whether the session has started is kept beside them as one time.
//
// Trail encoding (in memory and in checkpoints): the marks in order, each as
// v = (ts - previous ts) << 1 | terminal, written in 15-bit groups, low group
// first, one uint16 unit per group with bit 15 set on every unit but the
// last. The first mark's "previous ts" is its own ts (v = terminal). A gap
// under 16.4 s (heartbeats come every 10 s) takes one unit, two bytes.

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace viewpipe::ops {

struct Mark {
  int64_t ts = 0;
  bool terminal = false;

  // By ts; at the same ms a terminal mark sorts after a non-terminal one, so
  // a stop (or fatal error) and a heartbeat in the same ms leave the session
  // ended. Two marks that compare equal are the same for the definition.
  friend bool operator<(const Mark& a, const Mark& b) {
    return a.ts < b.ts || (a.ts == b.ts && !a.terminal && b.terminal);
  }
  friend bool operator==(const Mark& a, const Mark& b) {
    return a.ts == b.ts && a.terminal == b.terminal;
  }
};

namespace trail {

inline uint64_t Value(int64_t delta, bool terminal) {
  return (static_cast<uint64_t>(delta) << 1) | (terminal ? 1 : 0);
}
inline size_t Units(uint64_t v) {
  size_t n = 1;
  while (v >= (1u << 15)) {
    v >>= 15;
    ++n;
  }
  return n;
}
inline uint16_t* Put(uint16_t* p, uint64_t v) {
  while (v >= (1u << 15)) {
    *p++ = static_cast<uint16_t>((v & 0x7FFF) | 0x8000);
    v >>= 15;
  }
  *p++ = static_cast<uint16_t>(v);
  return p;
}
inline const uint16_t* Get(const uint16_t* p, uint64_t* v) {
  uint64_t r = 0;
  int shift = 0;
  for (;;) {
    const uint16_t u = *p++;
    r |= static_cast<uint64_t>(u & 0x7FFF) << shift;
    if ((u & 0x8000) == 0) break;
    shift += 15;
  }
  *v = r;
  return p;
}

// How many marks units[0, n) holds.
inline size_t Count(const uint16_t* units, size_t n) {
  size_t marks = 0;
  for (size_t i = 0; i < n; ++i) marks += (units[i] & 0x8000) == 0;
  return marks;
}
// Appends the marks of units[0, n) to *out; first_ts is the first mark's ts.
void Decode(const uint16_t* units, size_t n, int64_t first_ts, std::vector<Mark>* out);
// Units Encode needs for marks (sorted ascending).
size_t EncodedUnits(std::span<const Mark> marks);
// Writes marks (sorted ascending) to out; returns the units written.
size_t Encode(std::span<const Mark> marks, uint16_t* out);
// True when units[0, n) is a well-formed trail (checkpoint validation).
bool Valid(const uint16_t* units, size_t n);

}  // namespace trail
}  // namespace viewpipe::ops
