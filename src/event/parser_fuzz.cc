// libFuzzer target: arbitrary bytes through ParseBatch (both formats) and
// DecodeEvent, checking the invariants that the collector and the consumers
// rely on. Build with -DVP_FUZZ=ON (clang); run e.g.
//   build/fuzz/src/event/event_fuzz -max_total_time=60 src/event/testdata/fuzz_corpus

#include <simdjson.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "event/codec.h"
#include "event/parser.h"

namespace viewpipe {
namespace {

constexpr int64_t kNow = 1764396767123;

#define FUZZ_CHECK(cond)                                                            \
  do {                                                                              \
    if (!(cond)) {                                                                  \
      std::fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                 \
    }                                                                               \
  } while (0)

ParseLimits FuzzLimits() {
  ParseLimits limits;
  limits.max_events = 64;
  limits.max_event_bytes = 2048;
  return limits;
}

bool Utf8(std::string_view s) { return simdjson::validate_utf8(s.data(), s.size()); }

size_t CodePoints(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

// What every accepted event must satisfy (events.md).
void CheckEventRules(const EventView& e, const ParseLimits& limits) {
  for (std::string_view id : {e.event_id, e.session_id, e.profile_id, e.title_id}) {
    FUZZ_CHECK(CodePoints(id) >= 1 && CodePoints(id) <= 64);
  }
  FUZZ_CHECK(e.country.size() == 2 && e.country[0] >= 'A' && e.country[0] <= 'Z' &&
             e.country[1] >= 'A' && e.country[1] <= 'Z');
  FUZZ_CHECK(CodePoints(e.cdn) <= 32 && CodePoints(e.os) <= 32 && CodePoints(e.app_version) <= 32);
  FUZZ_CHECK(CodePoints(e.isp) <= 64 && CodePoints(e.error_code) <= 64 &&
             CodePoints(e.live_event_id) <= 64);
  for (std::string_view s : {e.event_id, e.session_id, e.profile_id, e.title_id, e.cdn, e.os,
                             e.app_version, e.isp, e.error_code, e.live_event_id}) {
    FUZZ_CHECK(Utf8(s));
  }
  FUZZ_CHECK(e.experiments.size() <= 16);
  for (const auto& [id, variant] : e.experiments) FUZZ_CHECK(Utf8(id) && Utf8(variant));
  FUZZ_CHECK(!e.position_ms || *e.position_ms >= 0);
  FUZZ_CHECK(!e.bitrate_kbps || *e.bitrate_kbps >= 0);
  FUZZ_CHECK(!e.startup_ms || *e.startup_ms >= 0);
  FUZZ_CHECK(!e.rebuffer_ms || *e.rebuffer_ms >= 0);
  FUZZ_CHECK(e.type != EventType::kPlayStart || e.startup_ms);
  FUZZ_CHECK(e.type != EventType::kRebufferEnd || e.rebuffer_ms);
  FUZZ_CHECK(e.type != EventType::kError || (!e.error_code.empty() && e.fatal));
  FUZZ_CHECK(e.received_at_ms == kNow);
  FUZZ_CHECK(e.ts_ms >= kNow - limits.max_lateness_ms && e.ts_ms <= kNow + limits.max_future_ms);
}

// The JSON form of an accepted event parses back to the same encoding.
void CheckJsonRoundTrip(const EventView& e, std::string_view encoded, const ParseLimits& limits) {
  std::string body = "{\"events\":[";
  AppendEventJson(e, &body);
  body += "]}";
  simdjson::dom::parser dom;
  simdjson::dom::element doc;
  FUZZ_CHECK(dom.parse(body).get(doc) == simdjson::SUCCESS);
  ParseLimits roomy = limits;  // the JSON form adds received_at
  roomy.max_event_bytes += 1024;
  auto again = ParseBatch(body, BodyFormat::kJson, kNow, roomy);
  FUZZ_CHECK(again.ok() && again->accepted.size() == 1);
  FUZZ_CHECK(again->accepted[0].encoded == encoded);
}

void CheckBatch(const ParsedBatch& batch, std::string_view input, const ParseLimits& limits) {
  FUZZ_CHECK(batch.accepted.size() + batch.rejected.size() == batch.total);
  FUZZ_CHECK(batch.total <= limits.max_events);
  std::vector<bool> seen(batch.total, false);
  size_t arena_offset = 0;
  for (const AcceptedEvent& a : batch.accepted) {
    FUZZ_CHECK(a.index < batch.total && !seen[a.index]);
    seen[a.index] = true;
    FUZZ_CHECK(a.encoded.data() == batch.arena.data() + arena_offset);
    arena_offset += a.encoded.size();
    EventView e;
    DecodedIds ids;
    FUZZ_CHECK(DecodeEvent(a.encoded, &e, &ids).ok());
    FUZZ_CHECK(e.event_id == a.event_id);
    // The log key: a slice of the encoding, the session_id or its 16 bytes.
    FUZZ_CHECK(a.key.data() >= a.encoded.data() &&
               a.key.data() + a.key.size() <= a.encoded.data() + a.encoded.size());
    FUZZ_CHECK(IsCompactUuid(e.session_id) ? a.key.size() == 16 : a.key == e.session_id);
    FUZZ_CHECK(e.type == a.type && e.ts_ms == a.ts_ms);
    std::string again;
    EncodeEvent(e, &again);
    FUZZ_CHECK(again == a.encoded);
    CheckEventRules(e, limits);
    CheckJsonRoundTrip(e, a.encoded, limits);
  }
  FUZZ_CHECK(arena_offset == batch.arena.size());
  for (const RejectedEvent& r : batch.rejected) {
    FUZZ_CHECK(r.index < batch.total && !seen[r.index]);
    seen[r.index] = true;
    FUZZ_CHECK(!r.error.empty());
    FUZZ_CHECK(r.raw.size() <= limits.max_event_bytes);
    FUZZ_CHECK(input.find(r.raw) != std::string_view::npos);
  }
}

}  // namespace
}  // namespace viewpipe

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace viewpipe;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const ParseLimits limits = FuzzLimits();
  for (BodyFormat format : {BodyFormat::kJson, BodyFormat::kNdjson}) {
    auto batch = ParseBatch(input, format, kNow, limits);
    if (batch.ok()) {
      CheckBatch(*batch, input, limits);
    } else {
      const Status::Code code = batch.status().code();
      FUZZ_CHECK(code == Status::Code::kInvalidArgument || code == Status::Code::kAborted);
    }
  }
  // The decoder takes arbitrary bytes too; whatever it accepts is canonical.
  EventView e;
  DecodedIds ids;
  if (DecodeEvent(input, &e, &ids).ok()) {
    std::string again;
    EncodeEvent(e, &again);
    FUZZ_CHECK(again == input);
  }
  return 0;
}
