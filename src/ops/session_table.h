#pragma once
// SessionTable: the ops path's sessions, keyed by a 64-bit hash of
// session_id. Sessions sit in a dense array of 40-byte records (chunks of
// 64 Ki, so growth never copies them); an open-addressing index of 8-byte
// slots (32-bit hash tag + dense position; linear probing, backward-shift
// deletion, at most 80 % full) finds them. About 50 bytes a session, plus
// its trail in the TrailSlab.
//
// Two session_ids with the same 64-bit hash would be counted as one
// session: with 10 M sessions held at once the chance is about 3e-6.
// Not thread safe (owned by the ops consumer thread).

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace viewpipe::ops {

struct Session {
  static constexpr uint16_t kNotStarted = 0xFFFF;
  static constexpr uint16_t kStartedBeforeFirst = 0xFFFE;  // a start before the first kept mark
  static constexpr uint16_t kNoLive = 0xFFFF;
  static constexpr uint32_t kMaxSmallId = 0xFFFE;  // largest cdn/live/country id
  static constexpr uint8_t kLastTerminal = 1;  // the last mark ends the session
  static constexpr uint8_t kHasFloor = 2;      // older marks were dropped; the first
                                               // mark stands for all of them
  static constexpr uint8_t kFlagBits = 2;      // the device id sits above the flags

  uint64_t id = 0;       // hash of session_id; 0 only in free slots
  int64_t last_ts = 0;   // ts of the last mark
  uint32_t span_ms = 0;  // last_ts - ts of the first mark
  uint32_t title = 0;    // dimension value ids (NameTable ids of the first event)
  uint32_t trail_slot = 0;  // the trail (mark_trail.h) in the TrailSlab
  // Which mark is the session's first attempt/play_start (the earliest
  // start); kStartedBeforeFirst: one before the first kept mark, which is as
  // good as any; kNotStarted: none.
  uint16_t start_index = kNotStarted;
  uint16_t trail_units = 0;
  uint16_t cdn = 0;
  uint16_t live = kNoLive;
  uint16_t country = 0;
  uint8_t trail_class = 0;
  uint8_t flags = 0;  // kLastTerminal | kHasFloor | device id << kFlagBits

  int64_t first_ts() const { return last_ts - span_ms; }
  bool started() const { return start_index != kNotStarted; }
  uint8_t device() const { return flags >> kFlagBits; }
  void set_device(uint8_t d) {
    flags = static_cast<uint8_t>((flags & ((1 << kFlagBits) - 1)) | (d << kFlagBits));
  }
};
static_assert(sizeof(Session) == 40, "keep sessions small");

class SessionTable {
 public:
  SessionTable();
  SessionTable(const SessionTable&) = delete;
  SessionTable& operator=(const SessionTable&) = delete;

  Session* Find(uint64_t id);
  // REQUIRES: id != 0 and not in the table. Returns a session with only id set.
  Session* Insert(uint64_t id);
  // REQUIRES: s came from this table.
  void Erase(Session* s);
  size_t size() const { return size_; }
  // Dense positions [0, dense_size()) for sweeps and checkpoints; a session
  // with id 0 there is a free slot.
  uint32_t dense_size() const { return dense_size_; }
  Session& dense(uint32_t i) { return chunks_[i >> kChunkBits][i & (kChunk - 1)]; }
  const Session& dense(uint32_t i) const { return chunks_[i >> kChunkBits][i & (kChunk - 1)]; }
  size_t MemoryBytes() const;

 private:
  static constexpr uint32_t kChunkBits = 16;
  static constexpr uint32_t kChunk = 1u << kChunkBits;

  size_t Home(uint32_t tag) const { return tag >> (32 - bits_); }
  // Index slot of id, or the empty slot where it would go.
  size_t Probe(uint64_t id) const;
  void Grow();
  uint32_t AllocateDense();

  std::vector<uint64_t> index_;  // tag << 32 | (dense position + 1); 0 = empty
  int bits_ = 0;
  size_t size_ = 0;
  std::vector<std::unique_ptr<Session[]>> chunks_;
  uint32_t dense_size_ = 0;
  std::vector<uint32_t> free_dense_;
};

}  // namespace viewpipe::ops
