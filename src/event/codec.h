#pragma once
// Compact binary encoding of an event, the value of every record in the
// `viewing` and `qoe` topics.
//
// Format (version 1), little endian:
//   u8  version (=1)
//   u8  type, u8 device_type, u16 presence bits (which optional fields follow)
//   varint-zigzag ts_ms, varint (received_at_ms - ts_ms) zigzag
//   strings as varint length + bytes: event_id, session_id, profile_id,
//   title_id, country, cdn, then the optional ones present in the bits;
//   event_id and session_id as 16 bytes when they are UUIDs (bits 12, 13).
//   (The exact layout is documented in codec.cc; decoders reject unknown
//   versions and truncated input with Corruption.)

#include <string>
#include <string_view>

#include "common/status.h"
#include "event/event.h"

namespace viewpipe {

// Appends the encoding of e to *out.
void EncodeEvent(const EventView& e, std::string* out);

// Where EncodeEvent put event_id and session_id, as offsets into *out (so a
// caller can point views at them once *out stops growing) and sizes: the
// text, or the 16 bytes of a compact UUID (then compact_* is set).
struct EncodedKeyOffsets {
  size_t event_id = 0;
  size_t event_id_size = 0;
  size_t session_id = 0;
  size_t session_id_size = 0;
  bool compact_event_id = false;
  bool compact_session_id = false;
};
// Like EncodeEvent, and fills *offsets.
void EncodeEvent(const EventView& e, std::string* out, EncodedKeyOffsets* offsets);

// An id that the encoding holds as 16 bytes: a UUID in its canonical text
// form, 36 characters 8-4-4-4-12, lower-case hex (events.md recommends UUIDs
// for event_id; players send them for session_id too).
bool IsCompactUuid(std::string_view id);

// Room for the text of the ids an encoding holds compact: DecodeEvent writes
// them here and points the views at it, so it must outlive their use.
struct DecodedIds {
  char event_id[36];
  char session_id[36];
};

// Decodes data into *e; string views point into data, or into *ids for
// compact UUIDs. Only the canonical encoding EncodeEvent writes is accepted:
// anything else (unknown version, truncation, trailing bytes, out-of-range
// enums or ints, unknown presence bits, overlong varints, a compactable id
// spelled as text) is Corruption and leaves *e unspecified. Never reads
// outside data.
Status DecodeEvent(std::string_view data, EventView* e, DecodedIds* ids);
// Appends e as one flat JSON object (the events.md field names, plus
// received_at) to *out. ts and received_at are integers (ms), optional
// fields appear only when present, type and device_type by name. Always
// valid JSON: strings are escaped, and invalid UTF-8 (impossible for events
// from ParseBatch) is replaced by U+FFFD.
void AppendEventJson(const EventView& e, std::string* out);

}  // namespace viewpipe
