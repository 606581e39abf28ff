#pragma once
// NameTable: interns the names of one dimension (title ids, countries, ...)
// as dense ids 0, 1, 2, ... in order of first sight. Names are never removed
// (a day of titles and live events is small next to the sessions).
//
// Thread safety: one writer calls Intern (the ops consumer thread, under the
// ops state's exclusive lock). Find and size may run under the shared lock.
// Name(id) may run on any thread, without a lock, for an id the caller
// learned after it was interned through a release/acquire handoff (a
// published snapshot, or the ops lock): the strings never move.

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace viewpipe::ops {

class NameTable {
 public:
  // Returned by Intern when the table holds kMaxNames names.
  static constexpr uint32_t kFull = UINT32_MAX;
  static constexpr uint32_t kMaxNames = 1u << 24;

  NameTable() = default;
  NameTable(const NameTable&) = delete;
  NameTable& operator=(const NameTable&) = delete;

  // The id of name, adding it when new; kFull when the table is full.
  uint32_t Intern(std::string_view name);
  std::optional<uint32_t> Find(std::string_view name) const;
  // REQUIRES: id < size().
  const std::string& Name(uint32_t id) const {
    return chunks_[id >> kChunkBits][id & (kChunk - 1)];
  }
  uint32_t size() const { return size_.load(std::memory_order_acquire); }
  // Approximate heap bytes.
  size_t MemoryBytes() const;

 private:
  static constexpr uint32_t kChunkBits = 12;
  static constexpr uint32_t kChunk = 1u << kChunkBits;
  static constexpr uint32_t kMaxChunks = kMaxNames / kChunk;

  std::array<std::unique_ptr<std::string[]>, kMaxChunks> chunks_;
  std::unordered_map<std::string_view, uint32_t> index_;  // views into chunks_
  std::atomic<uint32_t> size_{0};
};

}  // namespace viewpipe::ops
