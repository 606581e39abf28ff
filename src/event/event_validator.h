#pragma once
// EventValidator: reads one event object (simdjson On Demand) into an
// EventView, checking every field rule of events.md. Internal to ParseBatch.
//
// A validator is reused for all events of a batch so that reading an event
// allocates nothing; the EventView's strings point into the simdjson
// parser's string buffer and are valid until the parser's next document.
// Not thread safe (one per ParseBatch call).

#include <simdjson.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "event/event.h"
#include "event/event_fields.h"
#include "event/parser.h"

namespace viewpipe {

class EventValidator {
 public:
  enum class Outcome {
    kValid,      // event() holds a valid event
    kRejected,   // a field rule failed: ProblemText() says which
    kMalformed,  // the object is not well-formed JSON (json_error()); iteration must stop
  };

  EventValidator(int64_t received_at_ms, const ParseLimits& limits);
  EventValidator(const EventValidator&) = delete;
  EventValidator& operator=(const EventValidator&) = delete;

  Outcome Read(simdjson::ondemand::object& obj);

  const EventView& event() const { return event_; }
  // The event's event_id if it had a valid one (also for rejected events).
  std::string_view valid_event_id() const;
  // Why the last Read returned kRejected, e.g. "field 'ts': not an integer".
  std::string ProblemText() const;
  simdjson::error_code json_error() const { return json_error_; }

  using Field = EventField;
  enum class Problem : uint8_t {
    kNone,
    kMissing,
    kMissingForType,
    kEmptyForType,
    kDuplicate,
    kNotString,
    kNotInteger,
    kNotBool,
    kNotObject,
    kBadTimestamp,
    kLength,
    kEventType,
    kDeviceType,
    kCountry,
    kNegative,
    kInt32Range,
    kInt64Range,
    kTooOld,
    kTooNew,
    kTooManyExperiments,
    kExperimentVariant,
    kUnpairedSurrogate,
  };

 private:
  void Reset();
  // The known field a key names, or kFieldCount (unknown, or a bad key:
  // json_error_ or a problem is set).
  Field Identify(simdjson::ondemand::field& field);
  // Each Read* returns false when the value is malformed (json_error_ set).
  bool ReadField(Field f, simdjson::ondemand::value& v);
  bool ReadString(Field f, simdjson::ondemand::value& v, std::string_view* out);
  bool ReadInt(Field f, simdjson::ondemand::value& v, int64_t min, int64_t max, int64_t* out);
  bool ReadTs(simdjson::ondemand::value& v);
  bool ReadFatal(simdjson::ondemand::value& v);
  bool ReadExperiments(simdjson::ondemand::value& v);
  bool ReadEnumOrCountry(Field f, std::string_view s);
  // The value has the wrong type: consume it (checking it is well formed), then reject.
  bool WrongType(Field f, simdjson::ondemand::value& v, Problem problem);
  // The value is JSON null, meaning "absent": consume it.
  bool Null(simdjson::ondemand::value& v);
  bool Malformed(simdjson::error_code error);
  // Handles an error from reading a value of field f: SUCCESS passes,
  // UTF8_ERROR (an unpaired surrogate escape) rejects the event, anything
  // else makes it malformed. Returns false when malformed.
  bool Settle(simdjson::error_code e, Field f);
  Outcome MalformedOutcome(simdjson::error_code error);
  void Reject(Field f, Problem problem);
  void CheckComplete();

  const int64_t received_at_ms_;
  const ParseLimits limits_;
  EventView event_;
  uint32_t seen_ = 0;     // bit per Field: the key appeared
  uint32_t present_ = 0;  // bit per Field: a non-null value was read
  uint32_t bad_ = 0;      // bit per Field: the field broke a rule
  Field problem_field_ = kEventId;
  Problem problem_ = Problem::kNone;
  simdjson::error_code json_error_ = simdjson::SUCCESS;
};

}  // namespace viewpipe
