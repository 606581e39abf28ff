#pragma once
// Parses and validates a POST /v1/events body exactly as events.md says.
// Valid events are encoded (codec.h) into one arena; each rejected event
// keeps its index, event_id (if any), reason and raw text.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "event/event.h"

namespace viewpipe {

struct ParseLimits {
  size_t max_events = 1000;             // per request; over it: whole request 413
  size_t max_event_bytes = 8 * 1024;    // per event (raw JSON); over it: whole request 413
  int64_t max_lateness_ms = 7LL * 24 * 3600 * 1000;  // older than received_at - this: rejected
  int64_t max_future_ms = 5LL * 60 * 1000;           // newer than received_at + this: rejected
};

enum class BodyFormat { kJson, kNdjson };

struct AcceptedEvent {
  uint32_t index = 0;  // position in the request
  EventType type = EventType::kHeartbeat;
  int64_t ts_ms = 0;
  std::string_view event_id;  // its text: in ParsedBatch::arena, or ::ids when encoded compact
  std::string_view key;       // the log record key: session_id as `encoded` holds it (a slice)
  std::string_view encoded;   // EncodeEvent() bytes, in ParsedBatch::arena
};

struct RejectedEvent {
  uint32_t index = 0;
  std::string event_id;  // empty when the event had none usable
  std::string error;     // e.g. "field 'ts': not an integer"
  std::string raw;       // the event's raw text as sent (truncated to max_event_bytes)
};

struct ParsedBatch {
  std::string arena;  // encoded valid events, back to back
  std::string ids;    // the text of the event_ids the arena holds as compact UUIDs
  std::vector<AcceptedEvent> accepted;
  std::vector<RejectedEvent> rejected;
  size_t total = 0;  // events in the request (accepted + rejected)
};

// Parses body. received_at_ms is stamped into every accepted event.
// Errors:
//   InvalidArgument — the body is not JSON at all / not the expected shape (HTTP 400);
//   Aborted         — a limit of `limits` was exceeded (HTTP 413); message says which.
//
// kJson: `{"events":[...]}`; any syntax error anywhere is a 400; an element
// that is not an object is a per-event rejection. kNdjson: one event per
// line, blank lines skipped (not counted in `index`), "\r\n" accepted; a line
// that is not JSON is a per-event rejection ("not valid JSON") unless no line
// is JSON, then 400. In both, an event holding invalid UTF-8 (or an escaped
// unpaired surrogate) is rejected alone ("invalid UTF-8"). Length limits
// count characters (code points). Each rejection's `error` is the first rule
// the event broke, e.g. "missing field 'session_id'",
// "field 'country': must be ISO 3166-1 alpha-2 upper case".
//
// Thread safe. Each calling thread keeps a reusable padded copy of the
// body and a simdjson parser (a few MB after a 1 MiB body), so steady-state
// calls allocate only the ParsedBatch itself (and rejected events' strings).
//
// padding kReadable: body.data() has kBodyPaddingBytes readable bytes past
// its end (a buffer allocated for it, e.g. the event-loop port's body
// buffer), so a JSON body is parsed in place, without the copy; the body is
// never modified (a body with invalid UTF-8 is still copied to be repaired).
enum class BodyPadding : uint8_t { kNone, kReadable };
inline constexpr size_t kBodyPaddingBytes = 64;  // simdjson::SIMDJSON_PADDING (checked in parser.cc)
Result<ParsedBatch> ParseBatch(std::string_view body, BodyFormat format, int64_t received_at_ms,
                               const ParseLimits& limits,
                               BodyPadding padding = BodyPadding::kNone);

// The instruction set simdjson's On Demand parser was compiled for in
// ParseBatch: "icelake", "haswell", "westmere" or "fallback" (scalar),
// decided by CMake's VP_JSON_ARCH.
std::string_view JsonParserKernel();

// Parses an RFC 3339 timestamp ("2026-11-29T06:12:47.123Z", offsets allowed)
// into ms since epoch.
Result<int64_t> ParseRfc3339(std::string_view s);

}  // namespace viewpipe
