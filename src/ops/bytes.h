#pragma once
// Byte encoding helpers of the ops checkpoint (checkpoint.h): little-endian
// fixed ints, LEB128 varints, zigzag, length-prefixed strings. Getters
// consume from the front of *in and return false (leaving the output
// unspecified) on truncated or malformed input; they never read past *in.

#include <cstdint>
#include <string>
#include <string_view>

namespace viewpipe::ops::bytes {

inline uint64_t ZigZag(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}
inline int64_t UnZigZag(uint64_t v) {
  return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1);
}

void PutU8(std::string* out, uint8_t v);
void PutFixed32(std::string* out, uint32_t v);
void PutFixed64(std::string* out, uint64_t v);
void PutVarint(std::string* out, uint64_t v);
inline void PutSigned(std::string* out, int64_t v) { PutVarint(out, ZigZag(v)); }
void PutString(std::string* out, std::string_view s);

bool GetU8(std::string_view* in, uint8_t* v);
bool GetFixed32(std::string_view* in, uint32_t* v);
bool GetFixed64(std::string_view* in, uint64_t* v);
bool GetVarint(std::string_view* in, uint64_t* v);
bool GetSigned(std::string_view* in, int64_t* v);
// *s points into the input.
bool GetString(std::string_view* in, std::string_view* s);
// Reads a varint that must be <= max.
bool GetCount(std::string_view* in, uint64_t max, uint64_t* v);

}  // namespace viewpipe::ops::bytes
