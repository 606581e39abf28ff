#include "log/record_batch.h"

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "common/crc32c.h"

namespace viewpipe {
namespace {

template <typename T>
void PutFixed(char* p, T v) {
  static_assert(std::is_integral_v<T>);
  using U = std::make_unsigned_t<T>;
  U u = static_cast<U>(v);
  for (size_t i = 0; i < sizeof(T); ++i) p[i] = static_cast<char>((u >> (8 * i)) & 0xFF);
}

template <typename T>
T GetFixed(const char* p) {
  using U = std::make_unsigned_t<T>;
  U u = 0;
  for (size_t i = 0; i < sizeof(T); ++i) u |= static_cast<U>(static_cast<uint8_t>(p[i])) << (8 * i);
  return static_cast<T>(u);
}

// Writes v at p (room for 10 bytes needed); returns the end.
char* PutVarint(char* p, uint64_t v) {
  while (v >= 0x80) {
    *p++ = static_cast<char>(v | 0x80);
    v >>= 7;
  }
  *p++ = static_cast<char>(v);
  return p;
}

// Decodes a varint of at most max_bits from [*p, end); false when malformed.
bool GetVarint(const char** p, const char* end, int max_bits, uint64_t* v) {
  uint64_t result = 0;
  for (int shift = 0; shift < max_bits && *p < end; shift += 7) {
    uint64_t byte = static_cast<uint8_t>(*(*p)++);
    result |= (byte & 0x7F) << shift;
    if ((byte & 0x80) == 0) {
      *v = result;
      return true;
    }
  }
  return false;
}

uint64_t ZigZag(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}
int64_t UnZigZag(uint64_t v) { return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1); }

}  // namespace

void BatchBuilder::Start(std::string* out, size_t start, int64_t first_ts, bool in_place) {
  out_ = out;
  in_place_ = in_place;
  start_ = start;
  pos_ = start_ + kBatchHeaderSize;
  count_ = 0;
  base_ts_ = max_ts_ = first_ts;
}

void BatchBuilder::Begin(std::string* out, int64_t first_ts) {
  Start(out, out->size(), first_ts, /*in_place=*/false);
  out->resize(std::max(out->capacity(), pos_));
  std::memset(out->data() + start_, 0, kBatchHeaderSize);
}

void BatchBuilder::BeginInPlace(std::string* out, int64_t first_ts) {
  Start(out, 0, first_ts, /*in_place=*/true);
  if (out->size() < pos_) out->resize(pos_);
  std::memset(out->data(), 0, kBatchHeaderSize);
}

void BatchBuilder::Add(int64_t timestamp_ms, std::string_view key, std::string_view value) {
  // Writes through a pointer into room made ahead: no per-field append.
  const auto k = reinterpret_cast<uintptr_t>(key.data());
  const auto v = reinterpret_cast<uintptr_t>(value.data());
  const bool in_value = !key.empty() && k >= v && k + key.size() <= v + value.size();
  size_t need = 25 + (in_value ? 0 : key.size()) + value.size();
  if (pos_ + need > out_->size()) out_->resize(std::max(2 * out_->size(), pos_ + need));
  char* p = out_->data() + pos_;
  // Wrapping subtraction: any pair of int64 timestamps round-trips.
  p = PutVarint(p, ZigZag(static_cast<int64_t>(static_cast<uint64_t>(timestamp_ms) -
                                               static_cast<uint64_t>(base_ts_))));
  p = PutVarint(p, key.size());
  if (in_value) {
    p = PutVarint(p, k - v + 1);
  } else {
    *p++ = 0;
    // memcpy from a null pointer is undefined even for 0 bytes (empty views).
    if (!key.empty()) std::memcpy(p, key.data(), key.size());
    p += key.size();
  }
  p = PutVarint(p, value.size());
  if (!value.empty()) std::memcpy(p, value.data(), value.size());
  pos_ = static_cast<size_t>(p + value.size() - out_->data());
  max_ts_ = std::max(max_ts_, timestamp_ms);
  ++count_;
}

size_t BatchBuilder::Finish() {
  if (!in_place_) out_->resize(pos_);
  char* h = out_->data() + start_;
  size_t size = pos_ - start_;
  PutFixed<uint32_t>(h, static_cast<uint32_t>(size - 4));
  h[8] = static_cast<char>(kBatchMagic);
  h[9] = static_cast<char>(kBatchTypeDataKeyRef);
  PutFixed<uint32_t>(h + 20, count_);
  PutFixed<int64_t>(h + 24, base_ts_);
  PutFixed<int64_t>(h + 32, max_ts_);
  out_ = nullptr;
  return size;
}

void SealBatch(char* data, Offset base_offset) {
  uint32_t length = GetFixed<uint32_t>(data);
  PutFixed<int64_t>(data + 12, base_offset);
  PutFixed<uint32_t>(data + 4, crc32c::Value(data + 8, length - 4));
}

BatchCheck ParseBatchHeader(std::string_view data, BatchHeader* h, std::string* why) {
  if (data.size() < kBatchHeaderSize) {
    *why = "header needs " + std::to_string(kBatchHeaderSize) + " bytes, " +
           std::to_string(data.size()) + " left";
    return BatchCheck::kTruncated;
  }
  const char* p = data.data();
  h->length = GetFixed<uint32_t>(p);
  h->crc = GetFixed<uint32_t>(p + 4);
  h->magic = static_cast<uint8_t>(p[8]);
  h->type = static_cast<uint8_t>(p[9]);
  h->base_offset = GetFixed<int64_t>(p + 12);
  h->count = GetFixed<uint32_t>(p + 20);
  h->base_ts = GetFixed<int64_t>(p + 24);
  h->max_ts = GetFixed<int64_t>(p + 32);
  if (h->length < kBatchHeaderSize - 4 || h->length > kMaxBatchBytes) {
    *why = "bad batch length " + std::to_string(h->length);
    return BatchCheck::kCorrupt;
  }
  return BatchCheck::kOk;
}

BatchCheck CheckBatch(std::string_view data, BatchHeader* h, std::string* why) {
  BatchCheck c = ParseBatchHeader(data, h, why);
  if (c != BatchCheck::kOk) return c;
  if (data.size() < h->TotalSize()) {
    *why = "batch of " + std::to_string(h->TotalSize()) + " bytes, only " +
           std::to_string(data.size()) + " present";
    return BatchCheck::kTruncated;
  }
  uint32_t actual = crc32c::Value(data.data() + 8, h->length - 4);
  if (actual != h->crc) {
    *why = "crc mismatch";
    return BatchCheck::kCorrupt;
  }
  if (h->magic != kBatchMagic || (h->type != kBatchTypeData && h->type != kBatchTypeDataKeyRef) ||
      h->count == 0 || h->base_offset < 0) {
    *why = "unknown magic/type or empty batch";
    return BatchCheck::kCorrupt;
  }
  return BatchCheck::kOk;
}

Result<size_t> DecodeBatch(std::string_view data, const BatchHeader& h, Offset from, size_t max,
                           std::vector<ConsumedRecord>* out) {
  const char* p = data.data() + kBatchHeaderSize;
  const char* end = data.data() + h.TotalSize();
  const bool key_refs = h.type == kBatchTypeDataKeyRef;
  size_t before = out->size();
  for (uint32_t i = 0; i < h.count; ++i) {
    uint64_t ts, klen, kpos = 0, vlen;
    bool ok = GetVarint(&p, end, 64, &ts) && GetVarint(&p, end, 32, &klen) &&
              (!key_refs || GetVarint(&p, end, 32, &kpos));
    const char* key = p;
    if (ok && kpos == 0) {  // inline key
      ok = klen <= static_cast<uint64_t>(end - p);
      if (ok) p += klen;
    }
    ok = ok && GetVarint(&p, end, 32, &vlen) && vlen <= static_cast<uint64_t>(end - p);
    if (ok && kpos != 0) {  // the key is a slice of the value
      ok = kpos - 1 <= vlen && klen <= vlen - (kpos - 1);
      key = p + (kpos - 1);
    }
    if (!ok) break;
    Offset offset = h.base_offset + i;
    if (offset >= from && out->size() - before < max) {
      ConsumedRecord r;
      r.offset = offset;
      r.timestamp_ms = static_cast<int64_t>(static_cast<uint64_t>(h.base_ts) +
                                            static_cast<uint64_t>(UnZigZag(ts)));
      r.key = std::string_view(key, klen);
      r.value = std::string_view(p, vlen);
      out->push_back(r);
    }
    p += vlen;
    if (i + 1 == h.count && p == end) return out->size() - before;
  }
  out->resize(before);
  return Status::Corruption("batch at offset " + std::to_string(h.base_offset) +
                            ": records do not decode to the header's count");
}

}  // namespace viewpipe
