#pragma once
// TrailSlab: the memory of every session's mark trail (mark_trail.h), in
// size classes of uint16 units carved from 64 KiB pages (every 4 units up to
// 128, every 8 up to 256, then coarser: a trail wastes 4 bytes on average). A trail lives in one
// slot of its class and moves to a bigger class as it grows. A slot is named
// by a 32-bit handle (page << 13 | slot), 5 bytes in the session with its
// class instead of an 8-byte pointer, and costs no malloc header.
//
// Sessions grow through the classes together and leave holes behind, so
// (1) a page whose slots are all free goes back to a pool any class takes
// pages from, and (2) Relocate, called for every session by a background
// sweep, moves a trail out of a page that is less than 7/8 full into a
// fuller page of its class: sparse pages drain and return to the pool, and
// the slab stays near full instead of keeping the holes of every class a
// session once passed through. Each page threads its free slots in a list.
// Not thread safe (owned by the ops consumer thread).

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace viewpipe::ops {

class TrailSlab {
 public:
  static constexpr uint8_t kClasses = 59;
  // Units of the largest class: the most a session keeps.
  static constexpr size_t kMaxUnits = 4096;

  static size_t ClassUnits(uint8_t cls);
  // The smallest class holding units (REQUIRES units <= kMaxUnits).
  static uint8_t ClassFor(size_t units);

  TrailSlab();
  TrailSlab(const TrailSlab&) = delete;
  TrailSlab& operator=(const TrailSlab&) = delete;

  uint32_t Allocate(uint8_t cls);
  void Free(uint8_t cls, uint32_t handle);
  // Moves the trail in handle to a fuller page of its class when its page
  // is sparse; returns its (maybe new) handle.
  uint32_t Relocate(uint8_t cls, uint32_t handle);
  uint16_t* At(uint8_t cls, uint32_t handle) {
    return pages_[handle >> kSlotBits].mem.get() + (handle & kSlotMask) * ClassUnits(cls);
  }
  // Bytes of pages held (in use or pooled) and of their bookkeeping.
  size_t ReservedBytes() const;

 private:
  static constexpr size_t kPageUnits = 32768;
  static constexpr uint32_t kSlotBits = 13;  // kPageUnits / smallest class = 8192 slots
  static constexpr uint32_t kSlotMask = (1u << kSlotBits) - 1;
  static constexpr uint32_t kNone = UINT32_MAX;
  static constexpr size_t kPooledPagesKept = 16;  // beyond this, empty pages are freed

  struct Page {
    std::unique_ptr<uint16_t[]> mem;  // null: freed (id reusable)
    uint8_t cls = 0;
    uint32_t live = 0;
    uint32_t fresh = 0;          // slots below this were handed out at least once
    uint32_t free_head = kNone;  // first free slot (its units 0-1 hold the next)
    uint32_t partial_pos = kNone;  // position in its class's partial list
  };
  uint32_t SlotsPerPage(uint8_t cls) const;
  uint32_t TakePage(uint8_t cls);
  uint32_t AllocateIn(uint32_t page);
  void ReleasePage(uint32_t id);

  std::vector<Page> pages_;
  std::vector<uint32_t> pooled_;  // empty pages with memory
  std::vector<uint32_t> unused_ids_;  // page ids without memory
  std::vector<uint32_t> partial_[kClasses];  // pages of each class with a free slot
};

}  // namespace viewpipe::ops
