#pragma once
// CRC32C (Castagnoli), the checksum of every framed log record. Uses the
// SSE4.2 crc32 instruction when the CPU has it, a table otherwise.

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace viewpipe::crc32c {

// Extends crc (the CRC32C of some earlier bytes) with data.
uint32_t Extend(uint32_t crc, const char* data, size_t n);
inline uint32_t Value(const char* data, size_t n) { return Extend(0, data, n); }
inline uint32_t Value(std::string_view s) { return Extend(0, s.data(), s.size()); }

// Exposed for tests, which compare the two implementations.
namespace internal {
uint32_t ExtendPortable(uint32_t crc, const char* data, size_t n);
// The SSE4.2 implementation; only callable when HasHardware() is true.
uint32_t ExtendHardware(uint32_t crc, const char* data, size_t n);
bool HasHardware();
}  // namespace internal

}  // namespace viewpipe::crc32c
