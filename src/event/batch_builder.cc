#include "event/batch_builder.h"

#include <algorithm>

#include "event/codec.h"
#include "event/utf8.h"

namespace viewpipe {

BatchBuilder::BatchBuilder(std::string_view body, const ParseLimits& limits) {
  // An encoding is smaller than the JSON it came from, so the arena rarely grows.
  batch_.arena.reserve(body.size() + 64);
  batch_.ids.reserve(body.size() / 8);
  const size_t guess = std::min(limits.max_events, body.size() / 128 + 1);
  batch_.accepted.reserve(guess);
  spans_.reserve(guess);
}

void BatchBuilder::Accept(uint32_t index, const EventView& e) {
  const size_t start = batch_.arena.size();
  EncodedKeyOffsets keys;
  EncodeEvent(e, &batch_.arena, &keys);
  AcceptedEvent accepted;
  accepted.index = index;
  accepted.type = e.type;
  accepted.ts_ms = e.ts_ms;
  batch_.accepted.push_back(accepted);
  Spans span{start, batch_.arena.size() - start, keys.event_id, keys.event_id_size,
             keys.session_id, keys.session_id_size, keys.compact_event_id};
  if (keys.compact_event_id) {  // dedup hashes the text: keep a copy
    span.event_id = batch_.ids.size();
    span.event_id_size = e.event_id.size();
    batch_.ids.append(e.event_id);
  }
  spans_.push_back(span);
}

void BatchBuilder::Reject(uint32_t index, std::string_view event_id, std::string error,
                          std::string_view raw) {
  RejectedEvent& r = batch_.rejected.emplace_back();
  r.index = index;
  r.event_id = std::string(event_id);
  r.error = std::move(error);
  r.raw = std::string(raw);
}

ParsedBatch BatchBuilder::Finish(size_t total) {
  const char* base = batch_.arena.data();
  for (size_t i = 0; i < spans_.size(); ++i) {
    const Spans& s = spans_[i];
    AcceptedEvent& a = batch_.accepted[i];
    a.encoded = std::string_view(base + s.encoded, s.encoded_size);
    a.event_id = std::string_view((s.event_id_in_ids ? batch_.ids.data() : base) + s.event_id,
                                  s.event_id_size);
    a.key = std::string_view(base + s.key, s.key_size);
  }
  batch_.total = total;
  return std::move(batch_);
}

size_t ReplaceInvalidUtf8(char* data, size_t n, size_t base, std::vector<size_t>* bad) {
  auto* p = reinterpret_cast<unsigned char*>(data);
  size_t replaced = 0;
  for (size_t i = 0; i < n;) {
    if (p[i] < 0x80) {
      ++i;
      continue;
    }
    const size_t len = utf8::SequenceLength(p + i, n - i);
    if (len != 0) {
      i += len;
      continue;
    }
    p[i] = '?';
    if (bad != nullptr) bad->push_back(base + i);
    ++replaced;
    ++i;
  }
  return replaced;
}

std::string_view IdSeenInRaw(std::string_view id, std::string_view raw) {
  if (id.empty()) return {};
  for (size_t pos = raw.find(id); pos != std::string_view::npos; pos = raw.find(id, pos + 1)) {
    if (pos > 0 && raw[pos - 1] == '"' && pos + id.size() < raw.size() &&
        raw[pos + id.size()] == '"') {
      return id;
    }
  }
  return {};
}

}  // namespace viewpipe
