#include "log/segment_index.h"

#include <algorithm>
#include <cstring>

#include "common/crc32c.h"

namespace viewpipe {
namespace {

constexpr size_t kEntrySize = 8;
constexpr size_t kTrailerSize = 24;

void Put32(std::string* out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}
void Put64(std::string* out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}
uint32_t Get32(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(static_cast<uint8_t>(p[i])) << (8 * i);
  return v;
}
uint64_t Get64(const char* p) { return Get32(p) | (static_cast<uint64_t>(Get32(p + 4)) << 32); }

}  // namespace

void SegmentIndex::Add(uint32_t relative_offset, uint32_t position) {
  VP_CHECK(entries_.empty() || (relative_offset > entries_.back().relative_offset &&
                                position > entries_.back().position),
           "index entries must increase");
  entries_.push_back({relative_offset, position});
}

SegmentIndex::Entry SegmentIndex::Floor(uint32_t relative_offset) const {
  auto it = std::upper_bound(entries_.begin(), entries_.end(), relative_offset,
                             [](uint32_t rel, const Entry& e) { return rel < e.relative_offset; });
  if (it == entries_.begin()) return Entry{};
  return *(it - 1);
}

void SegmentIndex::TruncateAt(uint64_t position) {
  while (!entries_.empty() && entries_.back().position >= position) entries_.pop_back();
}

std::string SegmentIndex::Encode(const Trailer& trailer) const {
  std::string out;
  out.reserve(entries_.size() * kEntrySize + kTrailerSize);
  for (const Entry& e : entries_) {
    Put32(&out, e.relative_offset);
    Put32(&out, e.position);
  }
  Put32(&out, trailer.end_relative_offset);
  Put32(&out, trailer.log_size);
  Put64(&out, static_cast<uint64_t>(trailer.max_timestamp));
  Put32(&out, static_cast<uint32_t>(entries_.size()));
  Put32(&out, crc32c::Value(out));
  return out;
}

Status SegmentIndex::Decode(std::string_view data, SegmentIndex* index, Trailer* trailer) {
  if (data.size() < kTrailerSize || (data.size() - kTrailerSize) % kEntrySize != 0) {
    return Status::Corruption("index size " + std::to_string(data.size()) + " is not valid");
  }
  const char* t = data.data() + data.size() - kTrailerSize;
  if (crc32c::Value(data.data(), data.size() - 4) != Get32(t + 20)) {
    return Status::Corruption("index crc mismatch");
  }
  size_t n = (data.size() - kTrailerSize) / kEntrySize;
  if (Get32(t + 16) != n) return Status::Corruption("index entry count mismatch");
  trailer->end_relative_offset = Get32(t);
  trailer->log_size = Get32(t + 4);
  trailer->max_timestamp = static_cast<int64_t>(Get64(t + 8));
  index->entries_.clear();
  for (size_t i = 0; i < n; ++i) {
    Entry e{Get32(data.data() + i * kEntrySize), Get32(data.data() + i * kEntrySize + 4)};
    bool increasing =
        index->entries_.empty() || (e.relative_offset > index->entries_.back().relative_offset &&
                                    e.position > index->entries_.back().position);
    if (!increasing || e.position >= trailer->log_size ||
        e.relative_offset >= trailer->end_relative_offset) {
      return Status::Corruption("index entries out of order");
    }
    index->entries_.push_back(e);
  }
  return Status::OK();
}

}  // namespace viewpipe
