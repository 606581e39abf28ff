#include "ops/trail_slab.h"

#include <algorithm>
#include <array>

#include "common/status.h"

namespace viewpipe::ops {
namespace {

constexpr std::array<uint16_t, TrailSlab::kClasses> kUnits = [] {
  std::array<uint16_t, TrailSlab::kClasses> u{};
  size_t i = 0;
  for (uint16_t n = 4; n <= 128; n += 4) u[i++] = n;
  for (uint16_t n = 136; n <= 256; n += 8) u[i++] = n;
  for (uint16_t n : {320, 384, 448, 512, 640, 768, 1024, 1536, 2048, 3072, 4096}) u[i++] = n;
  return u;
}();
static_assert(kUnits.back() == TrailSlab::kMaxUnits, "the last class holds kMaxUnits");

}  // namespace

size_t TrailSlab::ClassUnits(uint8_t cls) { return kUnits[cls]; }

uint8_t TrailSlab::ClassFor(size_t units) {
  VP_CHECK(units <= kMaxUnits, "trail too long for the slab");
  auto it = std::lower_bound(kUnits.begin(), kUnits.end(), units);
  return static_cast<uint8_t>(it - kUnits.begin());
}

TrailSlab::TrailSlab() = default;

uint32_t TrailSlab::SlotsPerPage(uint8_t cls) const {
  return static_cast<uint32_t>(kPageUnits / kUnits[cls]);
}

uint32_t TrailSlab::TakePage(uint8_t cls) {
  uint32_t id;
  if (!pooled_.empty()) {
    id = pooled_.back();
    pooled_.pop_back();
  } else if (!unused_ids_.empty()) {
    id = unused_ids_.back();
    unused_ids_.pop_back();
    pages_[id].mem = std::make_unique<uint16_t[]>(kPageUnits);
  } else {
    VP_CHECK(pages_.size() < (size_t{1} << (32 - kSlotBits)), "trail slab full");
    id = static_cast<uint32_t>(pages_.size());
    pages_.emplace_back();
    pages_.back().mem = std::make_unique<uint16_t[]>(kPageUnits);
  }
  Page& p = pages_[id];
  p.cls = cls;
  p.live = 0;
  p.fresh = 0;
  p.free_head = kNone;
  p.partial_pos = static_cast<uint32_t>(partial_[cls].size());
  partial_[cls].push_back(id);
  return id;
}

void TrailSlab::ReleasePage(uint32_t id) {
  Page& p = pages_[id];
  std::vector<uint32_t>& partial = partial_[p.cls];
  const uint32_t last = partial.back();
  partial[p.partial_pos] = last;
  pages_[last].partial_pos = p.partial_pos;
  partial.pop_back();
  p.partial_pos = kNone;
  if (pooled_.size() < kPooledPagesKept) {
    pooled_.push_back(id);
  } else {
    p.mem.reset();
    unused_ids_.push_back(id);
  }
}

uint32_t TrailSlab::Allocate(uint8_t cls) {
  const std::vector<uint32_t>& partial = partial_[cls];
  return AllocateIn(partial.empty() ? TakePage(cls) : partial.back());
}

uint32_t TrailSlab::AllocateIn(uint32_t id) {
  Page& p = pages_[id];
  const uint8_t cls = p.cls;
  uint32_t slot;
  if (p.free_head != kNone) {
    slot = p.free_head;
    const uint16_t* s = p.mem.get() + slot * kUnits[cls];
    p.free_head = static_cast<uint32_t>(s[0]) | (static_cast<uint32_t>(s[1]) << 16);
  } else {
    slot = p.fresh++;
  }
  ++p.live;
  if (p.live == SlotsPerPage(cls)) {  // full: out of the partial list
    std::vector<uint32_t>& partial = partial_[cls];
    const uint32_t last = partial.back();
    partial[p.partial_pos] = last;
    pages_[last].partial_pos = p.partial_pos;
    partial.pop_back();
    p.partial_pos = kNone;
  }
  return (id << kSlotBits) | slot;
}

uint32_t TrailSlab::Relocate(uint8_t cls, uint32_t handle) {
  constexpr size_t kCandidates = 16;
  const uint32_t id = handle >> kSlotBits;
  const uint32_t live = pages_[id].live;
  if (live * 8 >= SlotsPerPage(cls) * 7) return handle;
  // The fullest of the most recent pages with room (not this one).
  const std::vector<uint32_t>& partial = partial_[cls];
  uint32_t target = kNone;
  for (size_t i = 0; i < partial.size() && i < kCandidates; ++i) {
    const uint32_t c = partial[partial.size() - 1 - i];
    if (c == id || pages_[c].live <= live) continue;
    if (target == kNone || pages_[c].live > pages_[target].live) target = c;
  }
  if (target == kNone) return handle;
  const uint32_t moved = AllocateIn(target);
  std::copy_n(At(cls, handle), kUnits[cls], At(cls, moved));
  Free(cls, handle);
  return moved;
}

void TrailSlab::Free(uint8_t cls, uint32_t handle) {
  const uint32_t id = handle >> kSlotBits;
  const uint32_t slot = handle & kSlotMask;
  Page& p = pages_[id];
  uint16_t* s = p.mem.get() + slot * kUnits[cls];
  s[0] = static_cast<uint16_t>(p.free_head);
  s[1] = static_cast<uint16_t>(p.free_head >> 16);
  p.free_head = slot;
  if (p.partial_pos == kNone) {  // was full
    p.partial_pos = static_cast<uint32_t>(partial_[cls].size());
    partial_[cls].push_back(id);
  }
  if (--p.live == 0) ReleasePage(id);
}

size_t TrailSlab::ReservedBytes() const {
  size_t pages = 0;
  for (const Page& p : pages_) pages += p.mem ? 1 : 0;
  size_t lists = pooled_.capacity() + unused_ids_.capacity();
  for (const auto& l : partial_) lists += l.capacity();
  return pages * kPageUnits * sizeof(uint16_t) + pages_.capacity() * sizeof(Page) +
         lists * sizeof(uint32_t);
}

}  // namespace viewpipe::ops
