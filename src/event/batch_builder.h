#pragma once
// BatchBuilder: collects the outcome of ParseBatch. Accepted events are
// encoded straight into ParsedBatch::arena; their views are set in Finish(),
// once the arena has stopped growing. Internal to ParseBatch.

#include <string>
#include <string_view>
#include <vector>

#include "event/event.h"
#include "event/parser.h"

namespace viewpipe {

class BatchBuilder {
 public:
  BatchBuilder(std::string_view body, const ParseLimits& limits);

  void Accept(uint32_t index, const EventView& e);
  void Reject(uint32_t index, std::string_view event_id, std::string error, std::string_view raw);
  // REQUIRES: called once, last. total: events in the request.
  ParsedBatch Finish(size_t total);

 private:
  struct Spans {  // offsets into batch_.arena (event_id: into batch_.ids when compact)
    size_t encoded, encoded_size, event_id, event_id_size, key, key_size;
    bool event_id_in_ids;
  };
  ParsedBatch batch_;
  std::vector<Spans> spans_;  // parallel to batch_.accepted
};

// Replaces each byte of data[0, n) that is not part of a well-formed UTF-8
// sequence with '?'. When bad is not null, appends base + (position of each
// replaced byte) to it, in ascending order. Returns the number replaced.
size_t ReplaceInvalidUtf8(char* data, size_t n, size_t base, std::vector<size_t>* bad);

// The event_id to report for an event rejected for invalid UTF-8: id if it
// appears verbatim as a JSON string in raw (so it was not made up by the
// replacement of bad bytes), else empty.
std::string_view IdSeenInRaw(std::string_view id, std::string_view raw);

}  // namespace viewpipe
