// Event encoding, version 1. All multi-byte fixed fields little endian.
//
//   offset 0  u8   version = 1
//          1  u8   type         EventType value, 1..11
//          2  u8   device_type  DeviceType value, 1..6
//          3  u16  presence bits, see kHas* below; bits 12..15 must be 0
//          5  varint zigzag(ts_ms)
//             varint zigzag(received_at_ms - ts_ms)   (64-bit wrapping difference)
//             str event_id, str session_id, str profile_id, str title_id,
//             str country, str cdn
//   then, in this order, each only when its presence bit is set:
//     bit 0  str os                 bit 1  str app_version      bit 2  str isp
//     bit 3  varint zigzag(position_ms)
//     bit 4  varint zigzag(bitrate_kbps)     bit 5  varint zigzag(startup_ms)
//     bit 6  varint zigzag(rebuffer_ms)      (bits 4-6 decode to int32)
//     bit 7  str error_code
//     bit 8  fatal is present; bit 9 its value (true); bit 9 alone is invalid
//     bit 10 str live_event_id
//     bit 11 experiments: varint count (>= 1), then count x (str id, str variant)
//     bit 12 event_id is written as uuid16 instead of str
//     bit 13 session_id is written as uuid16 instead of str
//
//   uuid16: the 16 bytes of a UUID whose text is canonical (IsCompactUuid:
//           8-4-4-4-12 lower-case hex); it decodes back to that text. An id
//           that is such a UUID must be written as uuid16 (canonical form):
//           36 bytes become 16, and the log key (session_id) with it.
//
//   varint: LEB128, 7 bits a byte, low group first, at most 10 bytes, no
//           redundant trailing zero groups (canonical).
//   str:    varint byte length, then the bytes (UTF-8, not terminated).
//   zigzag: n >= 0 -> 2n, n < 0 -> -2n - 1.
//
// Optional strings are present iff non-empty, so an encoding whose presence
// bit is set for an empty string is not canonical and is rejected; nothing
// may follow the last field.

#include "event/codec.h"

#include <bit>
#include <charconv>
#include <climits>
#include <cstring>

#include "event/utf8.h"

namespace viewpipe {
namespace {

constexpr uint8_t kVersion = 1;
constexpr uint16_t kHasOs = 1 << 0;
constexpr uint16_t kHasAppVersion = 1 << 1;
constexpr uint16_t kHasIsp = 1 << 2;
constexpr uint16_t kHasPosition = 1 << 3;
constexpr uint16_t kHasBitrate = 1 << 4;
constexpr uint16_t kHasStartup = 1 << 5;
constexpr uint16_t kHasRebuffer = 1 << 6;
constexpr uint16_t kHasErrorCode = 1 << 7;
constexpr uint16_t kHasFatal = 1 << 8;
constexpr uint16_t kFatalTrue = 1 << 9;
constexpr uint16_t kHasLiveEvent = 1 << 10;
constexpr uint16_t kHasExperiments = 1 << 11;
constexpr uint16_t kEventIdUuid = 1 << 12;
constexpr uint16_t kSessionIdUuid = 1 << 13;
constexpr uint16_t kKnownBits = 0x3FFF;
constexpr size_t kUuidText = 36;
constexpr size_t kUuidBytes = 16;

constexpr bool IsHyphenAt(size_t i) { return i == 8 || i == 13 || i == 18 || i == 23; }

// Eight lower-case hex digits (x's bytes, first digit lowest) to their
// four bytes in out; false (out unspecified) when any byte is not one.
// SWAR, a whole word at a time: for a byte b < 0x80, b + (0x80 - c) sets
// the byte's top bit exactly when b >= c, without a carry into the next
// byte; bytes >= 0x80 fail on their own top bit.
bool PackHexWord(uint64_t x, char* out) {
  constexpr uint64_t kOnes = 0x0101010101010101;
  constexpr uint64_t kTops = kOnes * 0x80;
  auto at_least = [&](uint8_t c) { return (x + kOnes * (0x80 - c)) & kTops; };
  const uint64_t digit = at_least('0') & ~at_least('9' + 1);
  const uint64_t letter = at_least('a') & ~at_least('f' + 1);
  if (((digit | letter) & ~x & kTops) != kTops) return false;
  // '0'-'9' keep their low nibble; 'a'-'f' (0x61-0x66, bit 6 set) add 9.
  const uint64_t v = (x & kOnes * 0x0F) + ((x >> 6) & kOnes) * 9;
  // Byte 2k becomes digit 2k << 4 | digit 2k+1; then the even bytes close up.
  uint64_t u = ((v << 4) | (v >> 8)) & 0x00FF00FF00FF00FF;
  u = (u | (u >> 8)) & 0x0000FFFF0000FFFF;
  const auto packed = static_cast<uint32_t>(u | (u >> 16));
  std::memcpy(out, &packed, 4);
  return true;
}

uint64_t Load8(const char* p) {
  uint64_t x;
  std::memcpy(&x, p, 8);
  return x;
}
uint64_t Load4And4(const char* a, const char* b) {
  uint32_t lo, hi;
  std::memcpy(&lo, a, 4);
  std::memcpy(&hi, b, 4);
  return lo | (uint64_t{hi} << 32);
}

// Whether id IsCompactUuid, and if so its 16 bytes in out: the 32 digits
// as four words of eight (8, 4+4, 4+4, 12 = 4+8 of the text's groups).
bool TryPackUuid(std::string_view id, char* out) {
  static_assert(std::endian::native == std::endian::little);
  if (id.size() != kUuidText) return false;
  const char* p = id.data();
  if ((p[8] != '-') | (p[13] != '-') | (p[18] != '-') | (p[23] != '-')) return false;
  // Evaluated in full, then combined: no early exit to mispredict.
  const bool a = PackHexWord(Load8(p), out);
  const bool b = PackHexWord(Load4And4(p + 9, p + 14), out + 4);
  const bool c = PackHexWord(Load4And4(p + 19, p + 24), out + 8);
  const bool d = PackHexWord(Load8(p + 28), out + 12);
  return a & b & c & d;
}

void UnpackUuid(const char* bytes, char* text) {
  static constexpr char kDigits[] = "0123456789abcdef";
  size_t j = 0;
  for (size_t i = 0; i < kUuidBytes; ++i) {
    if (IsHyphenAt(j)) text[j++] = '-';
    const auto b = static_cast<uint8_t>(bytes[i]);
    text[j++] = kDigits[b >> 4];
    text[j++] = kDigits[b & 0xF];
  }
}

constexpr uint8_t kMaxEventType = 11;
constexpr uint8_t kMaxDeviceType = 6;

uint64_t ZigZag(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}
int64_t UnZigZag(uint64_t u) { return static_cast<int64_t>((u >> 1) ^ (~(u & 1) + 1)); }
size_t VarintLength(uint64_t v) { return 1 + (std::bit_width(v | 1) - 1) / 7; }
size_t StrLength(std::string_view s) { return VarintLength(s.size()) + s.size(); }

}  // namespace

bool IsCompactUuid(std::string_view id) {
  char bytes[kUuidBytes];
  return TryPackUuid(id, bytes);
}

namespace {

size_t IdLength(std::string_view id, bool compact) {
  return compact ? kUuidBytes : VarintLength(id.size()) + id.size();
}

// The ids' 16 bytes, when they are compact UUIDs.
struct PackedIds {
  char event_id[kUuidBytes];
  char session_id[kUuidBytes];
};

uint16_t PresenceBits(const EventView& e, PackedIds* packed) {
  uint16_t bits = 0;
  if (TryPackUuid(e.event_id, packed->event_id)) bits |= kEventIdUuid;
  if (TryPackUuid(e.session_id, packed->session_id)) bits |= kSessionIdUuid;
  if (!e.os.empty()) bits |= kHasOs;
  if (!e.app_version.empty()) bits |= kHasAppVersion;
  if (!e.isp.empty()) bits |= kHasIsp;
  if (e.position_ms) bits |= kHasPosition;
  if (e.bitrate_kbps) bits |= kHasBitrate;
  if (e.startup_ms) bits |= kHasStartup;
  if (e.rebuffer_ms) bits |= kHasRebuffer;
  if (!e.error_code.empty()) bits |= kHasErrorCode;
  if (e.fatal) bits |= *e.fatal ? (kHasFatal | kFatalTrue) : kHasFatal;
  if (!e.live_event_id.empty()) bits |= kHasLiveEvent;
  if (!e.experiments.empty()) bits |= kHasExperiments;
  return bits;
}

uint64_t ReceivedDelta(const EventView& e) {
  return ZigZag(static_cast<int64_t>(static_cast<uint64_t>(e.received_at_ms) -
                                     static_cast<uint64_t>(e.ts_ms)));
}

size_t EncodedLength(const EventView& e, uint16_t bits) {
  size_t n = 5 + VarintLength(ZigZag(e.ts_ms)) + VarintLength(ReceivedDelta(e));
  n += IdLength(e.event_id, bits & kEventIdUuid) + IdLength(e.session_id, bits & kSessionIdUuid) +
       StrLength(e.profile_id) + StrLength(e.title_id) + StrLength(e.country) + StrLength(e.cdn);
  if (bits & kHasOs) n += StrLength(e.os);
  if (bits & kHasAppVersion) n += StrLength(e.app_version);
  if (bits & kHasIsp) n += StrLength(e.isp);
  if (bits & kHasPosition) n += VarintLength(ZigZag(*e.position_ms));
  if (bits & kHasBitrate) n += VarintLength(ZigZag(*e.bitrate_kbps));
  if (bits & kHasStartup) n += VarintLength(ZigZag(*e.startup_ms));
  if (bits & kHasRebuffer) n += VarintLength(ZigZag(*e.rebuffer_ms));
  if (bits & kHasErrorCode) n += StrLength(e.error_code);
  if (bits & kHasLiveEvent) n += StrLength(e.live_event_id);
  if (bits & kHasExperiments) {
    n += VarintLength(e.experiments.size());
    for (const auto& [id, variant] : e.experiments) n += StrLength(id) + StrLength(variant);
  }
  return n;
}

// memcpy for the short strings of an event, inline: fixed-size copies that
// overlap at the end instead of a library call per field. Touches only
// dst[0, n) and src[0, n).
inline void CopyBytes(char* dst, const char* src, size_t n) {
  if (n >= 16) {
    for (size_t i = 0; i + 16 < n; i += 16) std::memcpy(dst + i, src + i, 16);
    std::memcpy(dst + n - 16, src + n - 16, 16);
  } else if (n >= 8) {
    uint64_t head, tail;
    std::memcpy(&head, src, 8);
    std::memcpy(&tail, src + n - 8, 8);
    std::memcpy(dst, &head, 8);
    std::memcpy(dst + n - 8, &tail, 8);
  } else if (n >= 4) {
    uint32_t head, tail;
    std::memcpy(&head, src, 4);
    std::memcpy(&tail, src + n - 4, 4);
    std::memcpy(dst, &head, 4);
    std::memcpy(dst + n - 4, &tail, 4);
  } else {
    for (size_t i = 0; i < n; ++i) dst[i] = src[i];
  }
}

// Writes into a buffer already sized by EncodedLength.
class Writer {
 public:
  explicit Writer(char* p) : p_(p) {}
  char* position() const { return p_; }
  void Byte(uint8_t b) { *p_++ = static_cast<char>(b); }
  void Varint(uint64_t v) {
    while (v >= 0x80) {
      Byte(static_cast<uint8_t>(v) | 0x80);
      v >>= 7;
    }
    Byte(static_cast<uint8_t>(v));
  }
  void Bytes(std::string_view s) {
    CopyBytes(p_, s.data(), s.size());
    p_ += s.size();
  }
  void Str(std::string_view s) {
    Varint(s.size());
    Bytes(s);
  }
  void Uuid(const char* bytes) {
    std::memcpy(p_, bytes, kUuidBytes);
    p_ += kUuidBytes;
  }

 private:
  char* p_;
};

void WriteOptional(const EventView& e, uint16_t bits, Writer* w) {
  if (bits & kHasOs) w->Str(e.os);
  if (bits & kHasAppVersion) w->Str(e.app_version);
  if (bits & kHasIsp) w->Str(e.isp);
  if (bits & kHasPosition) w->Varint(ZigZag(*e.position_ms));
  if (bits & kHasBitrate) w->Varint(ZigZag(*e.bitrate_kbps));
  if (bits & kHasStartup) w->Varint(ZigZag(*e.startup_ms));
  if (bits & kHasRebuffer) w->Varint(ZigZag(*e.rebuffer_ms));
  if (bits & kHasErrorCode) w->Str(e.error_code);
  if (bits & kHasLiveEvent) w->Str(e.live_event_id);
  if (bits & kHasExperiments) {
    w->Varint(e.experiments.size());
    for (const auto& [id, variant] : e.experiments) {
      w->Str(id);
      w->Str(variant);
    }
  }
}

// Bounds-checked cursor over an encoding. Every read fails (returns false)
// rather than step past end_.
class Reader {
 public:
  explicit Reader(std::string_view data)
      : p_(reinterpret_cast<const uint8_t*>(data.data())), end_(p_ + data.size()) {}
  bool done() const { return p_ == end_; }
  bool Byte(uint8_t* b) {
    if (p_ == end_) return false;
    *b = *p_++;
    return true;
  }
  bool Varint(uint64_t* v) {
    uint64_t result = 0;
    for (int shift = 0; shift < 70 && p_ != end_; shift += 7) {
      const uint8_t b = *p_++;
      if (shift == 63 && b > 1) return false;  // would overflow 64 bits
      result |= static_cast<uint64_t>(b & 0x7F) << shift;
      if ((b & 0x80) == 0) {
        *v = result;
        return b != 0 || shift == 0;  // canonical: no redundant zero group
      }
    }
    return false;
  }
  bool ZigZag64(int64_t* v) {
    uint64_t u;
    if (!Varint(&u)) return false;
    *v = UnZigZag(u);
    return true;
  }
  bool ZigZag32(std::optional<int32_t>* v) {
    int64_t wide;
    if (!ZigZag64(&wide) || wide < INT32_MIN || wide > INT32_MAX) return false;
    *v = static_cast<int32_t>(wide);
    return true;
  }
  bool Str(std::string_view* s) {
    uint64_t len;
    if (!Varint(&len) || len > static_cast<uint64_t>(end_ - p_)) return false;
    *s = std::string_view(reinterpret_cast<const char*>(p_), len);
    p_ += len;
    return true;
  }
  // A present optional string: non-empty.
  bool NonEmptyStr(std::string_view* s) { return Str(s) && !s->empty(); }
  // An id: uuid16 rendered into text[36] when compact, else a str that must
  // not be one a writer would have made compact.
  bool Id(bool compact, char* text, std::string_view* s) {
    if (!compact) return Str(s) && !IsCompactUuid(*s);
    if (remaining() < kUuidBytes) return false;
    UnpackUuid(reinterpret_cast<const char*>(p_), text);
    p_ += kUuidBytes;
    *s = std::string_view(text, kUuidText);
    return true;
  }
  size_t remaining() const { return static_cast<size_t>(end_ - p_); }

 private:
  const uint8_t* p_;
  const uint8_t* end_;
};

Status Corrupt(const char* what) {
  return Status::Corruption(std::string("event encoding: ") + what);
}

bool ReadExperiments(Reader* r, EventView* e) {
  uint64_t count;
  // Each entry takes at least two bytes, which bounds count before reserving.
  if (!r->Varint(&count) || count == 0 || count > r->remaining() / 2) return false;
  e->experiments.resize(count);
  for (auto& [id, variant] : e->experiments) {
    if (!r->Str(&id) || !r->Str(&variant)) return false;
  }
  return true;
}

bool ReadOptional(Reader* r, uint16_t bits, EventView* e) {
  e->os = e->app_version = e->isp = e->error_code = e->live_event_id = {};
  e->position_ms.reset();
  e->bitrate_kbps.reset();
  e->startup_ms.reset();
  e->rebuffer_ms.reset();
  e->fatal.reset();
  e->experiments.clear();
  if ((bits & kHasOs) && !r->NonEmptyStr(&e->os)) return false;
  if ((bits & kHasAppVersion) && !r->NonEmptyStr(&e->app_version)) return false;
  if ((bits & kHasIsp) && !r->NonEmptyStr(&e->isp)) return false;
  if (bits & kHasPosition) {
    int64_t v;
    if (!r->ZigZag64(&v)) return false;
    e->position_ms = v;
  }
  if ((bits & kHasBitrate) && !r->ZigZag32(&e->bitrate_kbps)) return false;
  if ((bits & kHasStartup) && !r->ZigZag32(&e->startup_ms)) return false;
  if ((bits & kHasRebuffer) && !r->ZigZag32(&e->rebuffer_ms)) return false;
  if ((bits & kHasErrorCode) && !r->NonEmptyStr(&e->error_code)) return false;
  if (bits & kHasFatal) e->fatal = (bits & kFatalTrue) != 0;
  if ((bits & kHasLiveEvent) && !r->NonEmptyStr(&e->live_event_id)) return false;
  if ((bits & kHasExperiments) && !ReadExperiments(r, e)) return false;
  return true;
}

Status ReadHeader(Reader* r, EventView* e, uint16_t* bits) {
  uint8_t version, type, device, lo, hi;
  if (!r->Byte(&version) || !r->Byte(&type) || !r->Byte(&device) || !r->Byte(&lo) ||
      !r->Byte(&hi)) {
    return Corrupt("truncated header");
  }
  if (version != kVersion) return Corrupt("unknown version");
  if (type == 0 || type > kMaxEventType) return Corrupt("bad event type");
  if (device == 0 || device > kMaxDeviceType) return Corrupt("bad device type");
  *bits = static_cast<uint16_t>(lo | (hi << 8));
  if ((*bits & ~kKnownBits) != 0) return Corrupt("unknown presence bits");
  if ((*bits & kFatalTrue) && !(*bits & kHasFatal)) return Corrupt("fatal value without fatal");
  e->type = static_cast<EventType>(type);
  e->device_type = static_cast<DeviceType>(device);
  return Status::OK();
}

}  // namespace

void EncodeEvent(const EventView& e, std::string* out, EncodedKeyOffsets* offsets) {
  PackedIds packed;
  const uint16_t bits = PresenceBits(e, &packed);
  const size_t start = out->size();
  out->resize(start + EncodedLength(e, bits));
  char* base = out->data();
  Writer w(base + start);
  w.Byte(kVersion);
  w.Byte(static_cast<uint8_t>(e.type));
  w.Byte(static_cast<uint8_t>(e.device_type));
  w.Byte(static_cast<uint8_t>(bits));
  w.Byte(static_cast<uint8_t>(bits >> 8));
  w.Varint(ZigZag(e.ts_ms));
  w.Varint(ReceivedDelta(e));
  // An id: its 16 bytes or its text; where its bytes went.
  auto id = [&](std::string_view text, const char* bytes, bool compact, size_t* at, size_t* size) {
    if (!compact) w.Varint(text.size());
    *at = static_cast<size_t>(w.position() - base);
    *size = compact ? kUuidBytes : text.size();
    if (compact) {
      w.Uuid(bytes);
    } else {
      w.Bytes(text);
    }
  };
  offsets->compact_event_id = (bits & kEventIdUuid) != 0;
  id(e.event_id, packed.event_id, offsets->compact_event_id, &offsets->event_id,
     &offsets->event_id_size);
  offsets->compact_session_id = (bits & kSessionIdUuid) != 0;
  id(e.session_id, packed.session_id, offsets->compact_session_id, &offsets->session_id,
     &offsets->session_id_size);
  w.Str(e.profile_id);
  w.Str(e.title_id);
  w.Str(e.country);
  w.Str(e.cdn);
  WriteOptional(e, bits, &w);
}

void EncodeEvent(const EventView& e, std::string* out) {
  EncodedKeyOffsets unused;
  EncodeEvent(e, out, &unused);
}

Status DecodeEvent(std::string_view data, EventView* e, DecodedIds* ids) {
  Reader r(data);
  uint16_t bits = 0;
  VP_RETURN_IF_ERROR(ReadHeader(&r, e, &bits));
  uint64_t delta;
  if (!r.ZigZag64(&e->ts_ms) || !r.Varint(&delta)) return Corrupt("truncated timestamps");
  e->received_at_ms = static_cast<int64_t>(static_cast<uint64_t>(e->ts_ms) +
                                           static_cast<uint64_t>(UnZigZag(delta)));
  if (!r.Id(bits & kEventIdUuid, ids->event_id, &e->event_id) ||
      !r.Id(bits & kSessionIdUuid, ids->session_id, &e->session_id)) {
    return Corrupt("truncated or non-canonical ids");
  }
  if (!r.Str(&e->profile_id) || !r.Str(&e->title_id) || !r.Str(&e->country) || !r.Str(&e->cdn)) {
    return Corrupt("truncated required fields");
  }
  if (!ReadOptional(&r, bits, e)) return Corrupt("truncated or invalid optional fields");
  if (!r.done()) return Corrupt("trailing bytes");
  return Status::OK();
}

}  // namespace viewpipe
