#include "event/codec.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <cstring>
#include <memory>
#include <string>

#include "event/event.h"

namespace viewpipe {
namespace {

constexpr int64_t kTs = 1764396767123;  // 2025-11-29T06:12:47.123Z

// The decoded views' compact ids live here (one decode at a time).
Status Decode(std::string_view bytes, EventView* out) {
  static DecodedIds ids;
  return DecodeEvent(bytes, out, &ids);
}

constexpr std::string_view kUuid1 = "0f8fad5b-d9cb-469f-a165-70867728950e";
constexpr std::string_view kUuid2 = "7c9e6679-7425-40de-944b-e07fc1f90ae7";

EventView Minimal() {
  EventView e;
  e.event_id = "e-1";
  e.type = EventType::kHeartbeat;
  e.ts_ms = kTs;
  e.received_at_ms = kTs + 250;
  e.session_id = "s-1";
  e.profile_id = "p-1";
  e.title_id = "t-1";
  e.device_type = DeviceType::kTv;
  e.country = "US";
  e.cdn = "akamai";
  return e;
}

EventView Full() {
  EventView e = Minimal();
  e.type = EventType::kError;
  e.device_type = DeviceType::kConsole;
  e.os = "tizen 6.5";
  e.app_version = "5.12.3";
  e.isp = "Télécom \"quoted\" \\ isp";
  e.position_ms = 9'000'000'000'000LL;
  e.bitrate_kbps = 2147483647;
  e.startup_ms = 0;
  e.rebuffer_ms = 1234;
  e.error_code = "E\n42\t\x01";
  e.fatal = true;
  e.live_event_id = "live-7";
  e.experiments = {{"exp_home_row", "b"}, {"exp_abr_v2", "control"}};
  return e;
}

void ExpectSame(const EventView& a, const EventView& b) {
  EXPECT_EQ(a.event_id, b.event_id);
  EXPECT_EQ(a.type, b.type);
  EXPECT_EQ(a.ts_ms, b.ts_ms);
  EXPECT_EQ(a.received_at_ms, b.received_at_ms);
  EXPECT_EQ(a.session_id, b.session_id);
  EXPECT_EQ(a.profile_id, b.profile_id);
  EXPECT_EQ(a.title_id, b.title_id);
  EXPECT_EQ(a.device_type, b.device_type);
  EXPECT_EQ(a.country, b.country);
  EXPECT_EQ(a.cdn, b.cdn);
  EXPECT_EQ(a.os, b.os);
  EXPECT_EQ(a.app_version, b.app_version);
  EXPECT_EQ(a.isp, b.isp);
  EXPECT_EQ(a.position_ms, b.position_ms);
  EXPECT_EQ(a.bitrate_kbps, b.bitrate_kbps);
  EXPECT_EQ(a.startup_ms, b.startup_ms);
  EXPECT_EQ(a.rebuffer_ms, b.rebuffer_ms);
  EXPECT_EQ(a.error_code, b.error_code);
  EXPECT_EQ(a.fatal, b.fatal);
  EXPECT_EQ(a.live_event_id, b.live_event_id);
  EXPECT_EQ(a.experiments, b.experiments);
}

std::string Encode(const EventView& e) {
  std::string out;
  EncodeEvent(e, &out);
  return out;
}

TEST(EventTypeTest, NamesRoundTripAndQoeSet) {
  const char* names[] = {"attempt", "play_start",     "heartbeat",      "pause",        "resume",
                         "seek",    "bitrate_change", "rebuffer_start", "rebuffer_end", "error",
                         "stop"};
  for (const char* name : names) {
    auto type = ParseEventType(name);
    ASSERT_TRUE(type.has_value()) << name;
    EXPECT_EQ(EventTypeName(*type), name);
  }
  EXPECT_FALSE(ParseEventType("Heartbeat").has_value());
  EXPECT_FALSE(ParseEventType("").has_value());
  EXPECT_TRUE(IsQoe(EventType::kAttempt));
  EXPECT_TRUE(IsQoe(EventType::kPlayStart));
  EXPECT_TRUE(IsQoe(EventType::kRebufferStart));
  EXPECT_TRUE(IsQoe(EventType::kRebufferEnd));
  EXPECT_TRUE(IsQoe(EventType::kBitrateChange));
  EXPECT_TRUE(IsQoe(EventType::kError));
  EXPECT_TRUE(IsQoe(EventType::kStop));
  // The SRE path needs them for playing time and average bitrate.
  EXPECT_TRUE(IsQoe(EventType::kHeartbeat));
  EXPECT_TRUE(IsQoe(EventType::kPause));
  EXPECT_TRUE(IsQoe(EventType::kResume));
  EXPECT_FALSE(IsQoe(EventType::kSeek));
}

TEST(DeviceTypeTest, NamesRoundTrip) {
  for (const char* name : {"tv", "mobile", "tablet", "web", "console", "other"}) {
    auto type = ParseDeviceType(name);
    ASSERT_TRUE(type.has_value()) << name;
    EXPECT_EQ(DeviceTypeName(*type), name);
  }
  EXPECT_FALSE(ParseDeviceType("TV").has_value());
  EXPECT_FALSE(ParseDeviceType("phone").has_value());
}

TEST(CodecTest, MinimalRoundTrip) {
  const EventView in = Minimal();
  const std::string bytes = Encode(in);
  EventView out;
  ASSERT_TRUE(Decode(bytes, &out).ok());
  ExpectSame(in, out);
  EXPECT_EQ(Encode(out), bytes);
}

TEST(CodecTest, FullyPopulatedRoundTrip) {
  const EventView in = Full();
  const std::string bytes = Encode(in);
  EventView out;
  ASSERT_TRUE(Decode(bytes, &out).ok());
  ExpectSame(in, out);
  EXPECT_EQ(Encode(out), bytes);
}

TEST(CodecTest, ExtremeIntegersRoundTrip) {
  EventView in = Full();
  in.ts_ms = INT64_MIN;
  in.received_at_ms = INT64_MAX;  // the difference wraps; decoding must undo it
  in.position_ms = INT64_MAX;
  in.bitrate_kbps = INT32_MIN;
  in.fatal = false;
  const std::string bytes = Encode(in);
  EventView out;
  ASSERT_TRUE(Decode(bytes, &out).ok());
  ExpectSame(in, out);
}

TEST(CodecTest, IsCompact) {
  // Fixed header + two small varints + six short strings.
  EXPECT_LT(Encode(Minimal()).size(), 50u);
}

TEST(CodecTest, KeyOffsetsPointAtTheIds) {
  std::string out = "prefix";
  EncodedKeyOffsets offsets;
  EncodeEvent(Full(), &out, &offsets);
  EXPECT_EQ(out.substr(offsets.event_id, 3), "e-1");
  EXPECT_EQ(out.substr(offsets.session_id, 3), "s-1");
}

EventView WithUuids() {
  EventView e = Full();
  e.event_id = kUuid1;
  e.session_id = kUuid2;
  return e;
}

TEST(CodecTest, IsCompactUuid) {
  EXPECT_TRUE(IsCompactUuid(kUuid1));
  EXPECT_TRUE(IsCompactUuid("00000000-0000-0000-0000-000000000000"));
  EXPECT_TRUE(IsCompactUuid("ffffffff-ffff-ffff-ffff-ffffffffffff"));
  EXPECT_FALSE(IsCompactUuid("0F8FAD5B-D9CB-469F-A165-70867728950E"));  // upper case
  EXPECT_FALSE(IsCompactUuid("0f8fad5b-d9cb-469f-a165-70867728950"));   // 35 characters
  EXPECT_FALSE(IsCompactUuid("0f8fad5b-d9cb-469f-a165-70867728950e0"));
  EXPECT_FALSE(IsCompactUuid("0f8fad5bd-9cb-469f-a165-70867728950e"));  // hyphen moved
  EXPECT_FALSE(IsCompactUuid("0f8fad5b-d9cb-469f-a165-70867728950g"));
  EXPECT_FALSE(IsCompactUuid("0f8fad5b-d9cb-469f-a165_70867728950e"));
  EXPECT_FALSE(IsCompactUuid(""));
}

// The rule spelled out one character at a time, to check the word-at-a-time
// parser against.
bool IsCompactUuidReference(std::string_view id) {
  if (id.size() != 36) return false;
  for (size_t i = 0; i < id.size(); ++i) {
    const bool hyphen = i == 8 || i == 13 || i == 18 || i == 23;
    const char c = id[i];
    if (hyphen ? c != '-' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

TEST(CodecTest, EveryOneCharacterChangeOfAUuidIsJudgedAndPackedRight) {
  // Every byte value at every position of UUIDs that use each digit and
  // letter (and the values either side of each range: '/', ':', '`', 'g',
  // 'A'-'F', bytes >= 0x80) in every word of the parser.
  for (std::string_view base : {kUuid1, kUuid2, std::string_view("01234567-89ab-cdef-0123-456789abcdef"),
                                std::string_view("fedcba98-7654-3210-fedc-ba9876543210")}) {
    for (size_t at = 0; at < base.size(); ++at) {
      for (int byte = 0; byte < 256; ++byte) {
        std::string id(base);
        id[at] = static_cast<char>(byte);
        const bool compact = IsCompactUuidReference(id);
        ASSERT_EQ(IsCompactUuid(id), compact) << "byte " << byte << " at " << at;
        if (!compact) continue;
        EventView e = WithUuids();
        e.event_id = id;
        std::string bytes;
        EncodedKeyOffsets offsets;
        EncodeEvent(e, &bytes, &offsets);
        ASSERT_TRUE(offsets.compact_event_id);
        EventView out;
        ASSERT_TRUE(Decode(bytes, &out).ok());
        ASSERT_EQ(out.event_id, id) << "byte " << byte << " at " << at;
      }
    }
  }
}

TEST(CodecTest, UuidIdsTakeSixteenBytesAndDecodeToTheirText) {
  const EventView in = WithUuids();
  EventView text = in;  // the same ids in upper case: kept as text
  const std::string upper1 = "0F8FAD5B-D9CB-469F-A165-70867728950E";
  const std::string upper2 = "7C9E6679-7425-40DE-944B-E07FC1F90AE7";
  text.event_id = upper1;
  text.session_id = upper2;
  std::string bytes;
  EncodedKeyOffsets offsets;
  EncodeEvent(in, &bytes, &offsets);
  EXPECT_EQ(bytes.size() + 2 * (36 + 1 - 16), Encode(text).size());
  EXPECT_TRUE(offsets.compact_event_id && offsets.compact_session_id);
  EXPECT_EQ(offsets.event_id_size, 16u);
  EXPECT_EQ(offsets.session_id_size, 16u);
  EXPECT_EQ(bytes.substr(offsets.event_id, 4), std::string("\x0f\x8f\xad\x5b"));
  EXPECT_EQ(bytes.substr(offsets.session_id, 2), std::string("\x7c\x9e"));
  EventView out;
  DecodedIds ids;
  ASSERT_TRUE(DecodeEvent(bytes, &out, &ids).ok());
  ExpectSame(in, out);
  EXPECT_EQ(out.event_id.data(), ids.event_id);
  EXPECT_EQ(out.session_id.data(), ids.session_id);
  EXPECT_EQ(Encode(out), bytes);
  // Upper case round-trips as text.
  const std::string text_bytes = Encode(text);
  ASSERT_TRUE(Decode(text_bytes, &out).ok());
  EXPECT_EQ(out.event_id, upper1);
  EXPECT_EQ(out.session_id, upper2);
}

TEST(CodecTest, ACompactableIdSpelledAsTextIsCorruption) {
  // Encode upper-case ids (text), then lower-case them in place: the bytes
  // now spell ids a writer would have stored in 16 bytes.
  EventView e = WithUuids();
  const std::string upper = "0F8FAD5B-D9CB-469F-A165-70867728950E";
  e.event_id = upper;
  std::string bytes = Encode(e);
  const size_t at = bytes.find(upper);
  ASSERT_NE(at, std::string::npos);
  bytes.replace(at, upper.size(), kUuid1);
  EventView out;
  EXPECT_TRUE(Decode(bytes, &out).IsCorruption());
}

TEST(CodecTest, EveryTruncationIsCorruption) {
  for (const EventView& e : {Minimal(), Full(), WithUuids()}) {
    const std::string bytes = Encode(e);
    for (size_t n = 0; n < bytes.size(); ++n) {
      // A heap copy of exactly n bytes, so ASan catches any read past the end.
      std::unique_ptr<char[]> copy(new char[n == 0 ? 1 : n]);
      std::memcpy(copy.get(), bytes.data(), n);
      EventView out;
      Status s = Decode(std::string_view(copy.get(), n), &out);
      EXPECT_TRUE(s.IsCorruption()) << "length " << n << ": " << s.ToString();
    }
  }
}

TEST(CodecTest, TrailingBytesAreCorruption) {
  std::string bytes = Encode(Full());
  bytes.push_back('\0');
  EventView out;
  EXPECT_TRUE(Decode(bytes, &out).IsCorruption());
}

TEST(CodecTest, BadHeaderFieldsAreCorruption) {
  const std::string good = Encode(Minimal());
  auto corrupt = [&](size_t at, char value) {
    std::string bytes = good;
    bytes[at] = value;
    EventView out;
    return Decode(bytes, &out).IsCorruption();
  };
  EXPECT_TRUE(corrupt(0, 2));     // version
  EXPECT_TRUE(corrupt(1, 0));     // type
  EXPECT_TRUE(corrupt(1, 12));    // type
  EXPECT_TRUE(corrupt(2, 0));     // device type
  EXPECT_TRUE(corrupt(2, 7));     // device type
  EXPECT_TRUE(corrupt(4, 0x40));  // reserved presence bit 14
  EXPECT_TRUE(corrupt(4, 0x80));  // reserved presence bit 15
  EXPECT_TRUE(corrupt(4, 0x02));  // "fatal is true" without "fatal present"
}

TEST(CodecTest, OverlongVarintIsCorruption) {
  // An empty event_id has length byte 0x00; spell it 0x80 0x00 instead.
  EventView e = Minimal();
  e.event_id = "";
  std::string empty_id = Encode(e);
  const size_t pos = empty_id.find(std::string("\x00\x03s-1", 5));
  ASSERT_NE(pos, std::string::npos);
  empty_id.replace(pos, 1, std::string("\x80\x00", 2));
  EventView out;
  EXPECT_TRUE(Decode(empty_id, &out).IsCorruption());
}

TEST(CodecTest, GarbageNeverCrashes) {
  uint64_t x = 88172645463325252ULL;
  for (int i = 0; i < 40000; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    std::string bytes = Encode(i % 2 ? Full() : WithUuids());
    bytes[x % bytes.size()] = static_cast<char>(x >> 32);
    bytes.resize(bytes.size() - (x >> 40) % 4);
    EventView out;
    Status s = Decode(bytes, &out);
    if (s.ok()) {
      EXPECT_EQ(Encode(out), bytes);  // whatever decodes is canonical
    }
  }
}

TEST(CodecJsonTest, MinimalHasOnlyRequiredFields) {
  std::string json;
  AppendEventJson(Minimal(), &json);
  EXPECT_EQ(json,
            "{\"event_id\":\"e-1\",\"type\":\"heartbeat\",\"ts\":1764396767123,"
            "\"received_at\":1764396767373,\"session_id\":\"s-1\",\"profile_id\":\"p-1\","
            "\"title_id\":\"t-1\",\"device_type\":\"tv\",\"country\":\"US\",\"cdn\":\"akamai\"}");
}

TEST(CodecJsonTest, FullIsValidJsonWithEveryField) {
  std::string json = "[";  // appends, never clears
  AppendEventJson(Full(), &json);
  json += "]";
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  ASSERT_EQ(parser.parse(json).get(doc), simdjson::SUCCESS) << json;
  simdjson::dom::element e = doc.at(0);
  EXPECT_EQ(std::string_view(e["type"]), "error");
  EXPECT_EQ(std::string_view(e["device_type"]), "console");
  EXPECT_EQ(int64_t(e["ts"]), kTs);
  EXPECT_EQ(int64_t(e["received_at"]), kTs + 250);
  EXPECT_EQ(std::string_view(e["isp"]), "Télécom \"quoted\" \\ isp");
  EXPECT_EQ(std::string_view(e["error_code"]), "E\n42\t\x01");
  EXPECT_EQ(int64_t(e["position_ms"]), 9'000'000'000'000LL);
  EXPECT_EQ(int64_t(e["bitrate_kbps"]), 2147483647);
  EXPECT_EQ(int64_t(e["startup_ms"]), 0);
  EXPECT_EQ(int64_t(e["rebuffer_ms"]), 1234);
  EXPECT_EQ(bool(e["fatal"]), true);
  EXPECT_EQ(std::string_view(e["live_event_id"]), "live-7");
  EXPECT_EQ(std::string_view(e["experiments"]["exp_abr_v2"]), "control");
  EXPECT_EQ(std::string_view(e["os"]), "tizen 6.5");
  EXPECT_EQ(std::string_view(e["app_version"]), "5.12.3");
}

TEST(CodecJsonTest, InvalidUtf8IsReplacedSoOutputStaysJson) {
  EventView e = Minimal();
  e.cdn =
      "bad\xff\xc0\xaf"
      "end";
  std::string json;
  AppendEventJson(e, &json);
  EXPECT_TRUE(simdjson::validate_utf8(json.data(), json.size()));
  EXPECT_NE(json.find("\"cdn\":\"bad\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"
                      "end\""),
            std::string::npos)
      << json;
}

}  // namespace
}  // namespace viewpipe
