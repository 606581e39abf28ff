// ParseBatch: simdjson On Demand over one padded copy of the body.
//
// simdjson validates UTF-8 for a whole document before anything is read.
// So that one event with invalid UTF-8 is rejected on its own:
//   - JSON body: if the document fails the UTF-8 check, the bad bytes of the
//     copy are replaced with '?' and it is parsed again; each event whose raw
//     span holds a replaced byte is rejected ("invalid UTF-8"). Bad bytes
//     outside every event make the body invalid (400).
//   - NDJSON: every line is its own document, so the check is per line
//     already; the same replacement lets such a line still report its event_id.
// Raw text always comes from the caller's body, never from the copy.

#include "event/parser.h"

#include <simdjson.h>

#include <algorithm>
#include <cstring>
#include <utility>

#include "event/batch_builder.h"
#include "event/event_validator.h"
#include "event/json_check.h"

namespace viewpipe {
namespace {

namespace od = simdjson::ondemand;
using simdjson::error_code;

constexpr std::string_view kNotObject = "event is not a JSON object";
constexpr std::string_view kNotJson = "not valid JSON";
constexpr std::string_view kBadUtf8 = "invalid UTF-8";

// Reused by every ParseBatch call on a thread, so the steady state allocates
// no parser buffers: the padded copy of the body and the simdjson parser.
struct ThreadState {
  std::string padded;
  od::parser parser;
};

// Copies body into the thread's padded buffer (the one copy of the body).
char* PaddedCopy(std::string_view body, ThreadState* state) {
  const size_t need = body.size() + simdjson::SIMDJSON_PADDING;
  if (state->padded.size() < need) state->padded.resize(need);
  char* p = state->padded.data();
  if (!body.empty()) std::memcpy(p, body.data(), body.size());
  std::memset(p + body.size(), ' ', simdjson::SIMDJSON_PADDING);
  return p;
}

static_assert(kBodyPaddingBytes == simdjson::SIMDJSON_PADDING);

#define VP_STRINGIFY_INNER(x) #x
#define VP_STRINGIFY(x) VP_STRINGIFY_INNER(x)
constexpr std::string_view kJsonKernel = VP_STRINGIFY(SIMDJSON_BUILTIN_IMPLEMENTATION);
#undef VP_STRINGIFY
#undef VP_STRINGIFY_INNER

Status NotJson(error_code e) {
  return Status::InvalidArgument(std::string("body is not valid JSON: ") +
                                 simdjson::error_message(e));
}

Status TooManyEvents(const ParseLimits& limits) {
  return Status::Aborted("too many events: more than " + std::to_string(limits.max_events) +
                         " in one request (max_events)");
}

Status EventTooLarge(uint32_t index, const ParseLimits& limits) {
  return Status::Aborted("event " + std::to_string(index) + " is larger than " +
                         std::to_string(limits.max_event_bytes) + " bytes (max_event_bytes)");
}

// What the request shares between the two body formats.
struct Request {
  std::string_view body;
  char* padded;     // copy of body at the same offsets (repaired in place if needed),
                    // or body itself (parsed in place: never repaired)
  size_t capacity;  // bytes readable from padded
  od::parser* parser;
  const ParseLimits& limits;
  ThreadState* state;
};

// Rejects or accepts one event that the validator has read (or not, when it
// is not an object).
void RecordEvent(BatchBuilder* out, const EventValidator& validator, uint32_t index,
                 EventValidator::Outcome outcome, bool is_object, bool bad_utf8,
                 std::string_view raw) {
  if (bad_utf8) {
    out->Reject(index, is_object ? IdSeenInRaw(validator.valid_event_id(), raw) : "",
                std::string(kBadUtf8), raw);
  } else if (!is_object) {
    out->Reject(index, "", std::string(kNotObject), raw);
  } else if (outcome == EventValidator::Outcome::kValid) {
    out->Accept(index, validator.event());
  } else {
    out->Reject(index, validator.valid_event_id(), validator.ProblemText(), raw);
  }
}

// {"events": [...]}.
class JsonBody {
 public:
  // bad_utf8: positions replaced in the copy (sorted), or null on the first pass.
  JsonBody(const Request& req, int64_t received_at_ms, const std::vector<size_t>* bad_utf8,
           BatchBuilder* out)
      : req_(req), validator_(received_at_ms, req.limits), bad_utf8_(bad_utf8), out_(out) {}

  Status Run();
  bool utf8_error() const { return utf8_error_; }
  size_t events() const { return events_; }
  size_t bad_bytes_in_events() const { return bad_bytes_in_events_; }

 private:
  Status ParseEvents(od::value& events);
  Status ParseElement(od::value& element, uint32_t index);
  bool SpanHasBadUtf8(size_t offset, size_t size);

  const Request& req_;
  EventValidator validator_;
  const std::vector<size_t>* bad_utf8_;
  BatchBuilder* out_;
  od::document doc_;
  bool utf8_error_ = false;
  size_t events_ = 0;
  size_t bad_bytes_in_events_ = 0;
};

Status JsonBody::Run() {
  error_code e = req_.parser->iterate(req_.padded, req_.body.size(), req_.capacity).get(doc_);
  if (e == simdjson::UTF8_ERROR) utf8_error_ = true;
  if (e) return NotJson(e);
  od::json_type type;
  if ((e = doc_.type().get(type))) return NotJson(e);
  if (type != od::json_type::object) {
    return Status::InvalidArgument("body must be a JSON object with an \"events\" array");
  }
  od::object top;
  if ((e = doc_.get_object().get(top))) return NotJson(e);
  bool saw_events = false;
  for (auto field_result : top) {
    if ((e = field_result.error())) return NotJson(e);
    od::field& field = field_result.value_unsafe();
    const std::string_view key = FieldKey(field, &e);
    if (e) return NotJson(e);
    if (key != "events") {
      if ((e = ConsumeJsonValue(field.value()))) return NotJson(e);
      continue;
    }
    if (saw_events) return Status::InvalidArgument("body has \"events\" more than once");
    saw_events = true;
    VP_RETURN_IF_ERROR(ParseEvents(field.value()));
  }
  if (!saw_events) return Status::InvalidArgument("body has no \"events\" array");
  const char* trailing;
  if (doc_.current_location().get(trailing) != simdjson::OUT_OF_BOUNDS) {
    return Status::InvalidArgument("body is not valid JSON: content after the top-level object");
  }
  return Status::OK();
}

Status JsonBody::ParseEvents(od::value& events) {
  od::json_type type;
  if (error_code e = events.type().get(type)) return NotJson(e);
  if (type != od::json_type::array) return Status::InvalidArgument("\"events\" must be an array");
  od::array array;
  if (error_code e = events.get_array().get(array)) return NotJson(e);
  uint32_t index = 0;
  for (auto element_result : array) {
    if (error_code e = element_result.error()) return NotJson(e);
    od::value& element = element_result.value_unsafe();
    if (index >= req_.limits.max_events) return TooManyEvents(req_.limits);
    VP_RETURN_IF_ERROR(ParseElement(element, index));
    ++index;
  }
  events_ = index;
  return Status::OK();
}

Status JsonBody::ParseElement(od::value& element, uint32_t index) {
  const char* start;
  od::json_type type;
  if (error_code e = element.current_location().get(start)) return NotJson(e);
  if (error_code e = element.type().get(type)) return NotJson(e);
  const bool is_object = type == od::json_type::object;
  bool unpaired_surrogate = false;
  auto outcome = EventValidator::Outcome::kRejected;
  if (is_object) {
    od::object obj;
    if (error_code e = element.get_object().get(obj)) return NotJson(e);
    outcome = validator_.Read(obj);
    if (outcome == EventValidator::Outcome::kMalformed) return NotJson(validator_.json_error());
  } else if (error_code e = ConsumeJsonValue(element)) {
    if (e != simdjson::UTF8_ERROR) return NotJson(e);
    unpaired_surrogate = true;
  }
  // The iterator now sits on the ',' or ']' after the element.
  const char* end;
  if (error_code e = doc_.current_location().get(end)) return NotJson(e);
  while (end > start && IsJsonWhitespace(end[-1])) --end;
  const size_t offset = static_cast<size_t>(start - req_.padded);
  const size_t size = static_cast<size_t>(end - start);
  if (size > req_.limits.max_event_bytes) return EventTooLarge(index, req_.limits);
  const bool bad_utf8 = SpanHasBadUtf8(offset, size) || unpaired_surrogate;
  RecordEvent(out_, validator_, index, outcome, is_object, bad_utf8,
              req_.body.substr(offset, size));
  return Status::OK();
}

bool JsonBody::SpanHasBadUtf8(size_t offset, size_t size) {
  if (bad_utf8_ == nullptr) return false;
  auto first = std::lower_bound(bad_utf8_->begin(), bad_utf8_->end(), offset);
  auto last = std::lower_bound(first, bad_utf8_->end(), offset + size);
  bad_bytes_in_events_ += static_cast<size_t>(last - first);
  return first != last;
}

Result<ParsedBatch> ParseJson(const Request& req, int64_t received_at_ms) {
  {
    BatchBuilder out(req.body, req.limits);
    JsonBody body(req, received_at_ms, nullptr, &out);
    Status s = body.Run();
    if (!body.utf8_error()) {
      if (!s.ok()) return s;
      return out.Finish(body.events());
    }
  }
  // Second pass over a copy whose invalid UTF-8 bytes are replaced (a body
  // parsed in place is copied first: it is never modified).
  Request copy = req;
  if (req.padded == req.body.data()) {
    copy.padded = PaddedCopy(req.body, copy.state);
    copy.capacity = copy.state->padded.size();
  }
  std::vector<size_t> bad;
  ReplaceInvalidUtf8(copy.padded, copy.body.size(), 0, &bad);
  BatchBuilder out(copy.body, copy.limits);
  JsonBody body(copy, received_at_ms, &bad, &out);
  VP_RETURN_IF_ERROR(body.Run());
  if (body.utf8_error() || body.bad_bytes_in_events() != bad.size()) {
    return Status::InvalidArgument("body is not valid UTF-8 outside of its events");
  }
  return out.Finish(body.events());
}

// One event per line; blank lines are not events.
class NdjsonBody {
 public:
  NdjsonBody(const Request& req, int64_t received_at_ms, BatchBuilder* out)
      : req_(req), validator_(received_at_ms, req.limits), out_(out) {}

  Status Run();
  size_t events() const { return events_; }

 private:
  // Returns whether the line is JSON (of any type).
  bool ParseLine(size_t begin, size_t end, uint32_t index);

  const Request& req_;
  EventValidator validator_;
  BatchBuilder* out_;
  size_t events_ = 0;
};

Status NdjsonBody::Run() {
  const std::string_view body = req_.body;
  size_t json_lines = 0;
  uint32_t index = 0;
  for (size_t pos = 0; pos < body.size();) {
    const void* nl = std::memchr(body.data() + pos, '\n', body.size() - pos);
    const size_t line_end =
        nl ? static_cast<size_t>(static_cast<const char*>(nl) - body.data()) : body.size();
    const size_t begin = pos;
    size_t end = line_end;
    pos = line_end + 1;
    if (end > begin && body[end - 1] == '\r') --end;
    if (std::all_of(body.begin() + begin, body.begin() + end, IsJsonWhitespace)) continue;
    if (index >= req_.limits.max_events) return TooManyEvents(req_.limits);
    if (end - begin > req_.limits.max_event_bytes) return EventTooLarge(index, req_.limits);
    json_lines += ParseLine(begin, end, index);
    ++index;
  }
  if (index == 0) return Status::InvalidArgument("empty body");
  if (json_lines == 0) return Status::InvalidArgument("body is not JSON: no line is valid JSON");
  events_ = index;
  return Status::OK();
}

bool NdjsonBody::ParseLine(size_t begin, size_t end, uint32_t index) {
  const std::string_view raw = req_.body.substr(begin, end - begin);
  char* line = req_.padded + begin;
  const size_t capacity = req_.capacity - begin;
  od::document doc;
  error_code e = req_.parser->iterate(line, raw.size(), capacity).get(doc);
  const bool bad_utf8 = e == simdjson::UTF8_ERROR;
  if (bad_utf8) {
    ReplaceInvalidUtf8(line, raw.size(), 0, nullptr);
    e = req_.parser->iterate(line, raw.size(), capacity).get(doc);
  }
  od::json_type type;
  if (e || (e = doc.type().get(type))) {
    out_->Reject(index, "", std::string(bad_utf8 ? kBadUtf8 : kNotJson), raw);
    return false;
  }
  const bool is_object = type == od::json_type::object;
  auto outcome = EventValidator::Outcome::kRejected;
  if (is_object) {
    od::object obj;
    const char* trailing;
    e = doc.get_object().get(obj);
    if (!e) outcome = validator_.Read(obj);
    if (!e && outcome == EventValidator::Outcome::kMalformed) e = validator_.json_error();
    if (!e && doc.current_location().get(trailing) != simdjson::OUT_OF_BOUNDS) {
      e = simdjson::TRAILING_CONTENT;
    }
  } else {
    e = ConsumeJsonDocument(doc);
  }
  if (e && e != simdjson::UTF8_ERROR) {
    out_->Reject(index, "", std::string(bad_utf8 ? kBadUtf8 : kNotJson), raw);
    return false;
  }
  RecordEvent(out_, validator_, index, outcome, is_object, bad_utf8 || e == simdjson::UTF8_ERROR,
              raw);
  return true;
}

Result<ParsedBatch> ParseNdjson(const Request& req, int64_t received_at_ms) {
  BatchBuilder out(req.body, req.limits);
  NdjsonBody body(req, received_at_ms, &out);
  VP_RETURN_IF_ERROR(body.Run());
  return out.Finish(body.events());
}

}  // namespace

Result<ParsedBatch> ParseBatch(std::string_view body, BodyFormat format, int64_t received_at_ms,
                               const ParseLimits& limits, BodyPadding padding) {
  if (std::all_of(body.begin(), body.end(), IsJsonWhitespace)) {
    return Status::InvalidArgument("empty body");
  }
  thread_local ThreadState state;
  // NDJSON repairs a line with invalid UTF-8 in place: it always parses a copy.
  if (padding == BodyPadding::kReadable && format == BodyFormat::kJson) {
    // simdjson only reads its input; the body is modified by nobody here.
    char* in_place = const_cast<char*>(body.data());
    const Request req{body, in_place, body.size() + kBodyPaddingBytes, &state.parser, limits,
                      &state};
    return ParseJson(req, received_at_ms);
  }
  char* padded = PaddedCopy(body, &state);
  const Request req{body, padded, state.padded.size(), &state.parser, limits, &state};
  return format == BodyFormat::kJson ? ParseJson(req, received_at_ms)
                                     : ParseNdjson(req, received_at_ms);
}

std::string_view JsonParserKernel() { return kJsonKernel; }

}  // namespace viewpipe
