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
// Decodes data into *e; string views point into data.
Status DecodeEvent(std::string_view data, EventView* e);
// Appends e as one flat JSON object (the events.md field names, plus
// received_at) to *out.
void AppendEventJson(const EventView& e, std::string* out);

}  // namespace viewpipe
