#include "features/state_codec.h"

#include <cstring>

namespace viewpipe::features {

void StateWriter::Count(uint64_t v) {
  while (v >= 0x80) {
    out_.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out_.push_back(static_cast<char>(v));
}

void StateWriter::Int(int64_t v) {
  Count((static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63));
}

void StateWriter::Str(std::string_view s) {
  Count(s.size());
  out_.append(s);
}

void StateWriter::Double(double v) {
  char b[8];
  std::memcpy(b, &v, 8);
  out_.append(b, 8);
}

uint64_t StateReader::Varint() {
  uint64_t v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (in_.empty()) break;
    const auto b = static_cast<uint8_t>(in_.front());
    in_.remove_prefix(1);
    v |= static_cast<uint64_t>(b & 0x7f) << shift;
    if ((b & 0x80) == 0) return v;
  }
  failed_ = true;
  return 0;
}

int64_t StateReader::Int() {
  if (failed_) return 0;
  const uint64_t z = Varint();
  return static_cast<int64_t>(z >> 1) ^ -static_cast<int64_t>(z & 1);
}

uint64_t StateReader::Count(uint64_t max) {
  if (failed_) return 0;
  const uint64_t n = Varint();
  if (n > max) failed_ = true;
  return failed_ ? 0 : n;
}

std::string StateReader::Str() {
  if (failed_) return {};
  const uint64_t n = Varint();
  if (n > in_.size()) failed_ = true;
  if (failed_) return {};
  std::string s(in_.substr(0, n));
  in_.remove_prefix(n);
  return s;
}

double StateReader::Double() {
  if (failed_ || in_.size() < 8) {
    failed_ = true;
    return 0;
  }
  double v = 0;
  std::memcpy(&v, in_.data(), 8);
  in_.remove_prefix(8);
  return v;
}

}  // namespace viewpipe::features
