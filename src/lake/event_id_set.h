#pragma once
// EventIdSet: the event_ids one day partition already holds, as 64-bit
// XXH3 hashes in an open-addressing table (16 bytes per id at the 50 % load
// it grows at). Used by the lake writer and the hot tier so each event_id
// appears at most once per day, also for duplicates that arrive after the
// collector's dedup window.
//
// Two different ids collide with probability ~n^2 / 2^65 (1e-8 for a day of
// a million events); a collision would drop the later event, which is
// counted as a duplicate. Thread compatible.

#include <cstdint>
#include <string_view>
#include <vector>

namespace viewpipe {

uint64_t EventIdHash(std::string_view event_id);

class EventIdSet {
 public:
  // Inserts h; false when it was already present.
  bool Insert(uint64_t h);
  bool Contains(uint64_t h) const;
  void Erase(uint64_t h);
  size_t size() const { return size_; }
  size_t MemoryBytes() const { return slots_.size() * sizeof(uint64_t); }

 private:
  void Grow();
  size_t Find(uint64_t h) const;  // slot holding h, or the empty slot where it would go
  std::vector<uint64_t> slots_;  // 0: empty; hashes of 0 are stored as 1
  size_t size_ = 0;
};

}  // namespace viewpipe
