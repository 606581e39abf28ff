#pragma once
// CRC32C (Castagnoli), the checksum of every framed log record. Computed by
// ISA-L (Debian's libisal: folds with PCLMULQDQ or interleaves the SSE4.2
// crc32 instruction, whichever the CPU has; 5x the single-stream
// instruction loop this replaced on a 48 KB batch).

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace viewpipe::crc32c {

// Extends crc (the CRC32C of some earlier bytes) with data.
uint32_t Extend(uint32_t crc, const char* data, size_t n);
inline uint32_t Value(const char* data, size_t n) { return Extend(0, data, n); }
inline uint32_t Value(std::string_view s) { return Extend(0, s.data(), s.size()); }

// A table-driven reference, for tests that check Extend against it.
namespace internal {
uint32_t ExtendPortable(uint32_t crc, const char* data, size_t n);
}  // namespace internal

}  // namespace viewpipe::crc32c
