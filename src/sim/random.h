#pragma once
// Deterministic randomness for the simulator: a small, fast generator
// (SplitMix64), stateless hashing of ids, and UUID-formatted ids. Every
// value the simulator produces is a pure function of these, so a run is
// reproducible from its seed on every platform with the same libm.

#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>

namespace viewpipe::sim {

// Finalizer of SplitMix64: a good 64-bit mixing function.
constexpr uint64_t Mix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

constexpr uint64_t Hash64(uint64_t a, uint64_t b) {
  return Mix64(Mix64(a) ^ (b + 0x632BE59BD9B4E019ULL));
}
constexpr uint64_t Hash64(uint64_t a, uint64_t b, uint64_t c) { return Hash64(Hash64(a, b), c); }

// 64-bit FNV-1a: the documented hash of experiment assignment (docs/simulator.md).
constexpr uint64_t Fnv1a64(std::string_view s) {
  uint64_t h = 0xCBF29CE484222325ULL;
  for (char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001B3ULL;
  }
  return h;
}

// MurmurHash3's 64-bit finalizer. FNV-1a's low bits mix little, and
// assignment buckets are taken modulo 10000 over neighbouring profile ids,
// so they take fmix64 of it (1,000 A/A splits of 2,000 neighbouring
// profiles, p < 0.001: 4 with FNV-1a alone where 1 is expected, 0 with it).
constexpr uint64_t Fmix64(uint64_t h) {
  h ^= h >> 33;
  h *= 0xFF51AFD7ED558CCDULL;
  h ^= h >> 33;
  h *= 0xC4CEB9FE1A85EC53ULL;
  h ^= h >> 33;
  return h;
}

// SplitMix64 stream. Eight bytes of state, so every session carries its own.
class Rng {
 public:
  explicit Rng(uint64_t seed = 0) : state_(seed) {}
  uint64_t Next() {
    state_ += 0x9E3779B97F4A7C15ULL;
    uint64_t z = state_;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  // Uniform in [0, 1).
  double Uniform() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }
  double Uniform(double lo, double hi) { return lo + (hi - lo) * Uniform(); }
  // Uniform integer in [0, n).
  uint64_t Below(uint64_t n) {
    return static_cast<uint64_t>((static_cast<unsigned __int128>(Next()) * n) >> 64);
  }
  int64_t Between(int64_t lo, int64_t hi) {  // inclusive
    return lo + static_cast<int64_t>(Below(static_cast<uint64_t>(hi - lo + 1)));
  }
  bool Chance(double p) { return Uniform() < p; }
  // Exponential with the given mean.
  double Exponential(double mean) { return -mean * std::log1p(-Uniform()); }
  // Standard normal (Box-Muller, one value per call: simple and deterministic).
  double Normal() {
    double u1 = 1.0 - Uniform();
    double u2 = Uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }
  // Log-normal with the given median and shape sigma.
  double LogNormal(double median, double sigma) { return median * std::exp(sigma * Normal()); }
  uint64_t state() const { return state_; }

 private:
  uint64_t state_;
};

// Writes a UUID (version 4 layout, 36 chars) built from 128 bits to out[0..36).
void FormatUuid(uint64_t hi, uint64_t lo, char* out);
std::string UuidString(uint64_t hi, uint64_t lo);

}  // namespace viewpipe::sim
