#pragma once
// Compact binary encoding of an event, the value of every record in the
// `viewing` and `qoe` topics.
//
// Format (version 1), little endian:
//   u8  version (=1)
//   u8  type, u8 device_type, u16 presence bits (which optional fields follow)
//   varint-zigzag ts_ms, varint (received_at_ms - ts_ms) zigzag
//   strings as varint length + bytes: event_id, session_id, profile_id,
//   title_id, country, cdn, then the optional ones present in the bits.
//   (The exact layout is documented in codec.cc; decoders reject unknown
//   versions and truncated input with Corruption.)

#include <string>
#include <string_view>

#include "common/status.h"
#include "event/event.h"

namespace viewpipe {

// Appends the encoding of e to *out.
void EncodeEvent(const EventView& e, std::string* out);

// Where EncodeEvent put the bytes of event_id and session_id: offsets into
// *out, so a caller can point views at them once *out stops growing.
struct EncodedKeyOffsets {
  size_t event_id = 0;
  size_t session_id = 0;
};
// Like EncodeEvent, and fills *offsets.
void EncodeEvent(const EventView& e, std::string* out, EncodedKeyOffsets* offsets);

// Decodes data into *e; string views point into data. Only the canonical
// encoding EncodeEvent writes is accepted: anything else (unknown version,
// truncation, trailing bytes, out-of-range enums or ints, unknown presence
// bits, overlong varints) is Corruption and leaves *e unspecified. Never reads
// outside data.
Status DecodeEvent(std::string_view data, EventView* e);
// Appends e as one flat JSON object (the events.md field names, plus
// received_at) to *out. ts and received_at are integers (ms), optional
// fields appear only when present, type and device_type by name. Always
// valid JSON: strings are escaped, and invalid UTF-8 (impossible for events
// from ParseBatch) is replaced by U+FFFD.
void AppendEventJson(const EventView& e, std::string* out);

}  // namespace viewpipe
