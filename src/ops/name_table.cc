#include "ops/name_table.h"

namespace viewpipe::ops {

uint32_t NameTable::Intern(std::string_view name) {
  auto it = index_.find(name);
  if (it != index_.end()) return it->second;
  const uint32_t id = size_.load(std::memory_order_relaxed);
  if (id >= kMaxNames) return kFull;
  std::unique_ptr<std::string[]>& chunk = chunks_[id >> kChunkBits];
  if (!chunk) chunk = std::make_unique<std::string[]>(kChunk);
  std::string& slot = chunk[id & (kChunk - 1)];
  slot.assign(name);
  index_.emplace(std::string_view(slot), id);
  size_.store(id + 1, std::memory_order_release);
  return id;
}

std::optional<uint32_t> NameTable::Find(std::string_view name) const {
  auto it = index_.find(name);
  if (it == index_.end()) return std::nullopt;
  return it->second;
}

size_t NameTable::MemoryBytes() const {
  size_t bytes = sizeof(*this);
  const uint32_t n = size();
  for (uint32_t c = 0; c * kChunk < n; ++c) bytes += kChunk * sizeof(std::string);
  for (uint32_t id = 0; id < n; ++id) {
    const std::string& s = Name(id);
    if (s.capacity() > 15) bytes += s.capacity() + 1;
  }
  bytes += index_.bucket_count() * sizeof(void*) + index_.size() * 40;
  return bytes;
}

}  // namespace viewpipe::ops
