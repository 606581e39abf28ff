#include "lake/event_id_set.h"

#include <xxhash.h>

namespace viewpipe {
namespace {
uint64_t Stored(uint64_t h) { return h == 0 ? 1 : h; }
}  // namespace

uint64_t EventIdHash(std::string_view event_id) {
  return XXH3_64bits(event_id.data(), event_id.size());
}

size_t EventIdSet::Find(uint64_t h) const {
  const size_t mask = slots_.size() - 1;
  size_t i = static_cast<size_t>(h) & mask;
  while (slots_[i] != 0 && slots_[i] != h) i = (i + 1) & mask;
  return i;
}

void EventIdSet::Grow() {
  std::vector<uint64_t> old = std::move(slots_);
  slots_.assign(old.empty() ? 1024 : old.size() * 2, 0);
  for (uint64_t h : old) {
    if (h != 0) slots_[Find(h)] = h;
  }
}

bool EventIdSet::Insert(uint64_t h) {
  h = Stored(h);
  if ((size_ + 1) * 2 > slots_.size()) Grow();
  size_t i = Find(h);
  if (slots_[i] == h) return false;
  slots_[i] = h;
  ++size_;
  return true;
}

bool EventIdSet::Contains(uint64_t h) const {
  if (slots_.empty()) return false;
  h = Stored(h);
  return slots_[Find(h)] == h;
}

void EventIdSet::Erase(uint64_t h) {
  if (slots_.empty()) return;
  h = Stored(h);
  const size_t mask = slots_.size() - 1;
  size_t i = Find(h);
  if (slots_[i] != h) return;
  slots_[i] = 0;
  --size_;
  // Re-place the rest of the cluster (linear probing deletion).
  for (size_t j = (i + 1) & mask; slots_[j] != 0; j = (j + 1) & mask) {
    uint64_t moved = slots_[j];
    slots_[j] = 0;
    slots_[Find(moved)] = moved;
  }
}

}  // namespace viewpipe
