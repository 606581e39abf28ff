#include "event/event_validator.h"

#include <bit>
#include <cstdint>
#include <utility>

#include "event/event_fields.h"
#include "event/json_check.h"
#include "event/rfc3339.h"
#include "event/utf8.h"

namespace viewpipe {

using simdjson::error_code;
using simdjson::SUCCESS;
namespace od = simdjson::ondemand;

namespace {

using F = EventField;
using event_fields::Bit;
using event_fields::FieldSpec;
using event_fields::kFields;
using event_fields::Kind;
using event_fields::kMaxExperiments;
using event_fields::kRequired;
using event_fields::LookupField;

bool LooksLikeInteger(std::string_view token) {
  return token.find_first_of(".eE") == std::string_view::npos;
}

}  // namespace

EventValidator::EventValidator(int64_t received_at_ms, const ParseLimits& limits)
    : received_at_ms_(received_at_ms), limits_(limits) {
  event_.experiments.reserve(kMaxExperiments);
}

void EventValidator::Reset() {
  event_.event_id = event_.session_id = event_.profile_id = event_.title_id = {};
  event_.country = event_.cdn = event_.os = event_.app_version = event_.isp = {};
  event_.error_code = event_.live_event_id = {};
  event_.type = EventType::kHeartbeat;
  event_.device_type = DeviceType::kOther;
  event_.ts_ms = 0;
  event_.received_at_ms = received_at_ms_;
  event_.position_ms.reset();
  event_.bitrate_kbps.reset();
  event_.startup_ms.reset();
  event_.rebuffer_ms.reset();
  event_.fatal.reset();
  event_.experiments.clear();
  seen_ = present_ = bad_ = 0;
  problem_ = Problem::kNone;
  json_error_ = SUCCESS;
}

EventValidator::Outcome EventValidator::Read(od::object& obj) {
  Reset();
  for (auto field_result : obj) {
    if (error_code e = field_result.error()) return MalformedOutcome(e);
    od::field& field = field_result.value_unsafe();
    const F f = Identify(field);
    if (json_error_ != SUCCESS) return Outcome::kMalformed;
    if (f == F::kFieldCount) {
      if (!Settle(ConsumeJsonValue(field.value()), F::kFieldCount)) return Outcome::kMalformed;
      continue;
    }
    if (seen_ & Bit(f)) Reject(f, Problem::kDuplicate);
    seen_ |= Bit(f);
    if (!ReadField(f, field.value())) return Outcome::kMalformed;
  }
  if (problem_ == Problem::kNone) CheckComplete();
  return problem_ == Problem::kNone ? Outcome::kValid : Outcome::kRejected;
}

EventValidator::Field EventValidator::Identify(od::field& field) {
  // Known names have no escapes, so the raw key finds them; only an unknown
  // raw key may be a known one spelled with escapes.
  const F f = LookupField(RawFieldKey(field));
  if (f != F::kFieldCount) return f;
  error_code e;
  const std::string_view key = FieldKey(field, &e);
  if (e != SUCCESS) {
    Settle(e, F::kFieldCount);
    return F::kFieldCount;
  }
  return LookupField(key);
}

bool EventValidator::ReadField(F f, od::value& v) {
  const FieldSpec& spec = kFields[f];
  switch (spec.kind) {
    case Kind::kString:
      return ReadString(f, v, &(event_.*spec.str));
    case Kind::kEventType:
    case Kind::kDeviceType:
    case Kind::kCountry: {
      std::string_view s;
      return ReadString(f, v, &s) && ReadEnumOrCountry(f, s);
    }
    case Kind::kTs:
      return ReadTs(v);
    case Kind::kInt64:
    case Kind::kInt32: {
      int64_t value = 0;
      if (!ReadInt(f, v, 0, spec.kind == Kind::kInt64 ? INT64_MAX : INT32_MAX, &value)) {
        return false;
      }
      if (!(present_ & Bit(f))) return true;
      if (f == F::kPositionMs) event_.position_ms = value;
      if (f == F::kBitrateKbps) event_.bitrate_kbps = static_cast<int32_t>(value);
      if (f == F::kStartupMs) event_.startup_ms = static_cast<int32_t>(value);
      if (f == F::kRebufferMs) event_.rebuffer_ms = static_cast<int32_t>(value);
      return true;
    }
    case Kind::kBool:
      return ReadFatal(v);
    case Kind::kExperiments:
      return ReadExperiments(v);
  }
  return true;
}

bool EventValidator::ReadString(F f, od::value& v, std::string_view* out) {
  od::json_type type;
  if (error_code e = v.type().get(type)) return Malformed(e);
  if (type == od::json_type::null) return Null(v);
  if (type != od::json_type::string) return WrongType(f, v, Problem::kNotString);
  error_code e;
  const std::string_view s = StringValue(v, &e);
  if (e != SUCCESS) return Settle(e, f);
  const FieldSpec& spec = kFields[f];
  // Bytes bound characters from above, so counting is needed only past the limit.
  if (s.size() < spec.min_chars || (spec.max_chars != 0 && s.size() > spec.max_chars &&
                                    utf8::CodePoints(s.data(), s.size()) > spec.max_chars)) {
    Reject(f, Problem::kLength);
  }
  present_ |= Bit(f);
  *out = s;
  return true;
}

bool EventValidator::ReadEnumOrCountry(F f, std::string_view s) {
  if (!(present_ & Bit(f))) return true;
  if (f == F::kType) {
    if (auto type = ParseEventType(s)) {
      event_.type = *type;
    } else {
      Reject(f, Problem::kEventType);
    }
  } else if (f == F::kDeviceType) {
    if (auto device = ParseDeviceType(s)) {
      event_.device_type = *device;
    } else {
      Reject(f, Problem::kDeviceType);
    }
  } else if (s.size() == 2 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z') {
    event_.country = s;
  } else {
    Reject(f, Problem::kCountry);
  }
  return true;
}

bool EventValidator::ReadInt(F f, od::value& v, int64_t min, int64_t max, int64_t* out) {
  od::json_type type;
  if (error_code e = v.type().get(type)) return Malformed(e);
  if (type == od::json_type::null) return Null(v);
  if (type != od::json_type::number) return WrongType(f, v, Problem::kNotInteger);
  const error_code e = v.get_int64().get(*out);
  if (e == SUCCESS) {
    if (*out < min) Reject(f, Problem::kNegative);
    if (*out > max) Reject(f, max == INT64_MAX ? Problem::kInt64Range : Problem::kInt32Range);
    present_ |= Bit(f);
    return true;
  }
  if (e != simdjson::INCORRECT_TYPE) return Malformed(e);
  // A float, or an integer beyond int64: which one decides the message.
  const std::string_view token = v.raw_json_token();
  double d;
  if (error_code e2 = v.get_double().get(d)) return Malformed(e2);
  if (!LooksLikeInteger(token)) {
    Reject(f, Problem::kNotInteger);
  } else if (!token.empty() && token[0] == '-' && min == 0) {
    Reject(f, Problem::kNegative);
  } else {
    Reject(f, max == INT64_MAX ? Problem::kInt64Range : Problem::kInt32Range);
  }
  return true;
}

bool EventValidator::ReadTs(od::value& v) {
  od::json_type type;
  if (error_code e = v.type().get(type)) return Malformed(e);
  if (type == od::json_type::null) return Null(v);
  if (type == od::json_type::number) {
    return ReadInt(F::kTs, v, INT64_MIN, INT64_MAX, &event_.ts_ms);
  }
  if (type != od::json_type::string) return WrongType(F::kTs, v, Problem::kNotInteger);
  error_code e;
  const std::string_view s = StringValue(v, &e);
  if (e != SUCCESS) return Settle(e, F::kTs);
  if (!ParseRfc3339Ms(s, &event_.ts_ms)) Reject(F::kTs, Problem::kBadTimestamp);
  present_ |= Bit(F::kTs);
  return true;
}

bool EventValidator::ReadFatal(od::value& v) {
  od::json_type type;
  if (error_code e = v.type().get(type)) return Malformed(e);
  if (type == od::json_type::null) return Null(v);
  if (type != od::json_type::boolean) return WrongType(F::kFatal, v, Problem::kNotBool);
  bool fatal;
  if (error_code e = v.get_bool().get(fatal)) return Malformed(e);
  event_.fatal = fatal;
  present_ |= Bit(F::kFatal);
  return true;
}

bool EventValidator::ReadExperiments(od::value& v) {
  od::json_type type;
  if (error_code e = v.type().get(type)) return Malformed(e);
  if (type == od::json_type::null) return Null(v);
  if (type != od::json_type::object) return WrongType(F::kExperiments, v, Problem::kNotObject);
  od::object obj;
  if (error_code e = v.get_object().get(obj)) return Malformed(e);
  size_t count = 0;
  for (auto field_result : obj) {
    if (error_code e = field_result.error()) return Malformed(e);
    od::field& field = field_result.value_unsafe();
    error_code e;
    const std::string_view id = FieldKey(field, &e);
    if (!Settle(e, F::kExperiments)) return false;
    if (++count > kMaxExperiments) Reject(F::kExperiments, Problem::kTooManyExperiments);
    od::json_type vt;
    if ((e = field.value().type().get(vt))) return Malformed(e);
    if (vt != od::json_type::string) {
      if (!WrongType(F::kExperiments, field.value(), Problem::kExperimentVariant)) return false;
      continue;
    }
    const std::string_view variant = StringValue(field.value(), &e);
    if (!Settle(e, F::kExperiments)) return false;
    if (count <= kMaxExperiments) event_.experiments.emplace_back(id, variant);
  }
  present_ |= Bit(F::kExperiments);
  return true;
}

bool EventValidator::WrongType(F f, od::value& v, Problem problem) {
  const error_code e = ConsumeJsonValue(v);
  if (e != SUCCESS && e != simdjson::UTF8_ERROR) return Malformed(e);
  Reject(f, problem);
  return true;
}

bool EventValidator::Settle(error_code e, F f) {
  if (e == SUCCESS) return true;
  if (e != simdjson::UTF8_ERROR) return Malformed(e);
  Reject(f, Problem::kUnpairedSurrogate);
  return true;
}

bool EventValidator::Null(od::value& v) {
  bool is_null = false;
  if (error_code e = v.is_null().get(is_null)) return Malformed(e);
  return is_null ? true : Malformed(simdjson::N_ATOM_ERROR);
}

bool EventValidator::Malformed(error_code error) {
  json_error_ = error;
  return false;
}

EventValidator::Outcome EventValidator::MalformedOutcome(error_code error) {
  json_error_ = error;
  return Outcome::kMalformed;
}

void EventValidator::Reject(F f, Problem problem) {
  if (f != F::kFieldCount) bad_ |= Bit(f);
  if (problem_ != Problem::kNone) return;  // the first problem is the one reported
  problem_ = problem;
  problem_field_ = f;
}

void EventValidator::CheckComplete() {
  if (const uint32_t missing = kRequired & ~present_) {
    return Reject(static_cast<F>(std::countr_zero(missing)), Problem::kMissing);
  }
  switch (event_.type) {
    case EventType::kPlayStart:
      if (!event_.startup_ms) return Reject(F::kStartupMs, Problem::kMissingForType);
      break;
    case EventType::kRebufferEnd:
      if (!event_.rebuffer_ms) return Reject(F::kRebufferMs, Problem::kMissingForType);
      break;
    case EventType::kError:
      if (event_.error_code.empty()) {
        return Reject(F::kErrorCode, (present_ & Bit(F::kErrorCode)) ? Problem::kEmptyForType
                                                                     : Problem::kMissingForType);
      }
      if (!event_.fatal) return Reject(F::kFatal, Problem::kMissingForType);
      break;
    default:
      break;
  }
  // 128-bit arithmetic: limits and timestamps may be anywhere in int64.
  const __int128 ts = event_.ts_ms;
  if (ts < static_cast<__int128>(received_at_ms_) - limits_.max_lateness_ms) {
    return Reject(F::kTs, Problem::kTooOld);
  }
  if (ts > static_cast<__int128>(received_at_ms_) + limits_.max_future_ms) {
    Reject(F::kTs, Problem::kTooNew);
  }
}

std::string_view EventValidator::valid_event_id() const {
  const uint32_t id = Bit(F::kEventId);
  return (present_ & id) && !(bad_ & id) ? event_.event_id : std::string_view();
}

std::string EventValidator::ProblemText() const {
  if (problem_field_ == F::kFieldCount) return "invalid UTF-8 (unpaired surrogate escape)";
  const std::string field = std::string(kFields[problem_field_].name);
  const std::string prefix = "field '" + field + "': ";
  const FieldSpec& spec = kFields[problem_field_];
  switch (problem_) {
    case Problem::kNone:
      return "";
    case Problem::kMissing:
      return "missing field '" + field + "'";
    case Problem::kMissingForType:
      return "missing field '" + field + "' (required when type is " +
             std::string(EventTypeName(event_.type)) + ")";
    case Problem::kEmptyForType:
      return prefix + "must not be empty when type is " + std::string(EventTypeName(event_.type));
    case Problem::kDuplicate:
      return prefix + "appears more than once";
    case Problem::kNotString:
      return prefix + "not a string";
    case Problem::kNotInteger:
      return prefix + "not an integer";
    case Problem::kNotBool:
      return prefix + "not a boolean";
    case Problem::kNotObject:
      return prefix + "not an object";
    case Problem::kBadTimestamp:
      return prefix + "not an RFC 3339 date-time";
    case Problem::kLength:
      return spec.min_chars > 0
                 ? prefix + "must be " + std::to_string(spec.min_chars) + "-" +
                       std::to_string(spec.max_chars) + " characters"
                 : prefix + "longer than " + std::to_string(spec.max_chars) + " characters";
    case Problem::kEventType:
      return prefix +
             "unknown event type (expected one of attempt, play_start, heartbeat, "
             "pause, resume, seek, bitrate_change, rebuffer_start, rebuffer_end, "
             "error, stop)";
    case Problem::kDeviceType:
      return prefix +
             "unknown device type (expected one of tv, mobile, tablet, web, console, "
             "other)";
    case Problem::kCountry:
      return prefix + "must be ISO 3166-1 alpha-2 upper case";
    case Problem::kNegative:
      return prefix + "must be >= 0";
    case Problem::kInt32Range:
      return prefix + "out of int32 range";
    case Problem::kInt64Range:
      return prefix + "out of int64 range";
    case Problem::kTooOld:
      return prefix + "older than the accepted lateness (" +
             std::to_string(limits_.max_lateness_ms) + " ms before received_at)";
    case Problem::kTooNew:
      return prefix + "more than " + std::to_string(limits_.max_future_ms) + " ms in the future";
    case Problem::kTooManyExperiments:
      return prefix + "more than " + std::to_string(kMaxExperiments) + " entries";
    case Problem::kExperimentVariant:
      return prefix + "every variant must be a string";
    case Problem::kUnpairedSurrogate:
      return prefix + "invalid UTF-8 (unpaired surrogate escape)";
  }
  return prefix + "invalid";
}

}  // namespace viewpipe
