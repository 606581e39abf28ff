#include "ops/session_table.h"

#include "common/status.h"

namespace viewpipe::ops {
namespace {

constexpr int kInitialBits = 10;
uint32_t Tag(uint64_t id) { return static_cast<uint32_t>(id >> 32); }
uint32_t Position(uint64_t slot) { return static_cast<uint32_t>(slot) - 1; }

}  // namespace

SessionTable::SessionTable() : index_(size_t{1} << kInitialBits, 0), bits_(kInitialBits) {}

size_t SessionTable::Probe(uint64_t id) const {
  const size_t mask = index_.size() - 1;
  const uint32_t tag = Tag(id);
  for (size_t i = Home(tag);; i = (i + 1) & mask) {
    const uint64_t slot = index_[i];
    if (slot == 0) return i;
    if (static_cast<uint32_t>(slot >> 32) == tag && dense(Position(slot)).id == id) return i;
  }
}

Session* SessionTable::Find(uint64_t id) {
  const uint64_t slot = index_[Probe(id)];
  return slot == 0 ? nullptr : &dense(Position(slot));
}

uint32_t SessionTable::AllocateDense() {
  if (!free_dense_.empty()) {
    uint32_t pos = free_dense_.back();
    free_dense_.pop_back();
    return pos;
  }
  if ((dense_size_ >> kChunkBits) == chunks_.size()) {
    chunks_.push_back(std::make_unique<Session[]>(kChunk));
  }
  return dense_size_++;
}

Session* SessionTable::Insert(uint64_t id) {
  VP_CHECK(id != 0, "session id 0 is reserved");
  if ((size_ + 1) * 5 > index_.size() * 4) Grow();
  const size_t i = Probe(id);
  VP_CHECK(index_[i] == 0, "session already in the table");
  const uint32_t pos = AllocateDense();
  index_[i] = (static_cast<uint64_t>(Tag(id)) << 32) | (pos + 1);
  ++size_;
  Session& s = dense(pos);
  s = Session();
  s.id = id;
  return &s;
}

void SessionTable::Erase(Session* s) {
  size_t i = Probe(s->id);
  VP_CHECK(index_[i] != 0, "erasing a session that is not in the table");
  const uint32_t pos = Position(index_[i]);
  // Backward-shift deletion: pull later entries of the probe run into the hole.
  const size_t mask = index_.size() - 1;
  for (size_t j = (i + 1) & mask;; j = (j + 1) & mask) {
    const uint64_t slot = index_[j];
    if (slot == 0) break;
    const size_t home = Home(static_cast<uint32_t>(slot >> 32));
    // The entry at j may move to i unless its home lies cyclically in (i, j].
    const bool home_in_gap = i <= j ? (home > i && home <= j) : (home > i || home <= j);
    if (!home_in_gap) {
      index_[i] = slot;
      i = j;
    }
  }
  index_[i] = 0;
  --size_;
  dense(pos).id = 0;
  free_dense_.push_back(pos);
}

void SessionTable::Grow() {
  std::vector<uint64_t> old;
  old.swap(index_);
  ++bits_;
  index_.assign(size_t{1} << bits_, 0);
  const size_t mask = index_.size() - 1;
  for (uint64_t slot : old) {
    if (slot == 0) continue;
    size_t i = Home(static_cast<uint32_t>(slot >> 32));
    while (index_[i] != 0) i = (i + 1) & mask;
    index_[i] = slot;
  }
}

size_t SessionTable::MemoryBytes() const {
  return index_.capacity() * sizeof(uint64_t) + chunks_.size() * kChunk * sizeof(Session) +
         free_dense_.capacity() * sizeof(uint32_t);
}

}  // namespace viewpipe::ops
