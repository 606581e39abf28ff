#include "ops/session_tracker.h"

#include <xxhash.h>

#include <algorithm>
#include <cstring>

#include "ops/bytes.h"
#include "ops/checkpoint_file.h"
#include "ops/time_math.h"

namespace viewpipe::ops {
namespace {

uint64_t SessionHash(std::string_view session_id) {
  const uint64_t h = XXH3_64bits(session_id.data(), session_id.size());
  return h == 0 ? 1 : h;
}

bool IsStart(EventType t) { return t == EventType::kAttempt || t == EventType::kPlayStart; }

bool IsTerminal(const EventView& e) {
  return e.type == EventType::kStop || (e.type == EventType::kError && e.fatal.value_or(false));
}

bool LastTerminal(const Session& s) { return (s.flags & Session::kLastTerminal) != 0; }

}  // namespace

SessionTracker::SessionTracker(const TrackerOptions& options) : options_(options) {
  VP_CHECK(options.timeout_ms >= 0 && options.complete_after_ms >= 0 &&
               options.lateness_ms >= options.complete_after_ms + 1000 &&
               options.retention_ms >= options.lateness_ms,
           "ops tracker options out of range");
}

int64_t SessionTracker::WatermarkTime(const EventView& e) {
  return e.received_at_ms > 0 ? std::min(e.ts_ms, e.received_at_ms) : e.ts_ms;
}

// ---------------------------------------------------------------- time

void SessionTracker::StartTime(int64_t watermark_ms) {
  watermark_ = watermark_ms;
  const int64_t mutable_begin = SecondOf(watermark_ms - options_.lateness_ms);
  const int64_t as_of =
      std::max(mutable_begin - 1, SecondOf(watermark_ms - options_.complete_after_ms + 1) - 1);
  // The mutable seconds span the lateness bound, the timeout, and events up
  // to 5 minutes ahead of the watermark (the collector's limit).
  const int64_t ring =
      (options_.lateness_ms + options_.timeout_ms + options_.complete_after_ms) / 1000 + 300 + 64;
  series_ = std::make_unique<ViewerSeries>(mutable_begin, as_of, ring);
  clip_ms_ = mutable_begin * 1000;
  first_second_ = mutable_begin;
  dropped_before_ = mutable_begin;
}

void SessionTracker::AdvanceWatermark(int64_t watermark_ms) {
  if (!has_time() || watermark_ms <= watermark_) return;
  watermark_ = watermark_ms;
  const int64_t mutable_begin = std::max(series_->mutable_begin(),
                                         SecondOf(watermark_ms - options_.lateness_ms));
  const int64_t as_of =
      std::max(series_->as_of(), SecondOf(watermark_ms - options_.complete_after_ms + 1) - 1);
  series_->Advance(mutable_begin, as_of);
  clip_ms_ = mutable_begin * 1000;
  const int64_t keep_from = mutable_begin - options_.retention_ms / 1000;
  if (FloorDiv(keep_from, 3600) > FloorDiv(dropped_before_, 3600)) {
    series_->DropBefore(keep_from);
    dropped_before_ = keep_from;
  }
}

int64_t SessionTracker::kept_begin() const {
  return std::max(first_second_, series_->mutable_begin() - options_.retention_ms / 1000);
}

void SessionTracker::EnsureHorizon(int64_t ts) {
  const int64_t end_second = SecondOf(ts + options_.timeout_ms + 1) + 1;
  if (end_second < series_->mutable_begin() + ViewerSeries::kMaxRingSeconds) return;
  // Far ahead of every partition's time: move time so the ring can hold it.
  ++stats_.watermark_jumps;
  const int64_t mutable_begin = end_second - ViewerSeries::kMaxRingSeconds + 1;
  AdvanceWatermark(mutable_begin * 1000 + options_.lateness_ms);
}

// ---------------------------------------------------------------- events

void SessionTracker::Apply(const EventView& e) {
  ++stats_.events;
  if (!has_time()) StartTime(WatermarkTime(e));
  const Mark m{e.ts_ms, IsTerminal(e)};
  const bool start = IsStart(e.type);
  if (m.ts < clip_ms_) ++stats_.late_beyond_bound;
  EnsureHorizon(m.ts);
  const uint64_t id = SessionHash(e.session_id);
  Session* s = sessions_.Find(id);
  if (s == nullptr) {
    s = Create(id, e, m, start);
  } else if (Mark{s->last_ts, LastTerminal(*s)} < m) {
    Append(s, m, start);
  } else {
    Insert(s, m, start);
  }
  Flush(*s);
}

void SessionTracker::Emit(const Mark& m, int64_t next_ts, int64_t start_ts, int sign) {
  if (m.terminal || start_ts == kNever) return;
  const int64_t lo = std::max({m.ts, start_ts, clip_ms_});
  const int64_t hi = std::min(next_ts == kNever ? kNever : next_ts - 1, m.ts + options_.timeout_ms);
  if (lo > hi) return;
  const int64_t first = SecondOf(lo);
  const int64_t end = SecondOf(hi + 1);
  if (first >= end) return;
  deltas_.emplace_back(first, sign);
  deltas_.emplace_back(end, -sign);
}

void SessionTracker::Flush(const Session& s) {
  if (deltas_.empty()) return;
  std::sort(deltas_.begin(), deltas_.end());
  ViewerSeries::KeyId keys[6] = {ViewerSeries::kTotal,
                                 keys_.Key(Dimension::kTitle, s.title),
                                 keys_.Key(Dimension::kCountry, s.country),
                                 keys_.Key(Dimension::kDevice, s.device()),
                                 keys_.Key(Dimension::kCdn, s.cdn),
                                 0};
  size_t nkeys = 5;
  if (s.live != Session::kNoLive) keys[nkeys++] = keys_.Key(Dimension::kLiveEvent, s.live);
  for (size_t i = 0; i < deltas_.size();) {
    const int64_t second = deltas_[i].first;
    int32_t change = 0;
    for (; i < deltas_.size() && deltas_[i].first == second; ++i) change += deltas_[i].second;
    if (change == 0) continue;
    for (size_t k = 0; k < nkeys; ++k) series_->Add(keys[k], second, change);
  }
  deltas_.clear();
}

uint16_t SessionTracker::SmallId(Dimension d, std::string_view name) {
  uint32_t id = keys_.Intern(d, name, series_.get());
  if (id > Session::kMaxSmallId) id = keys_.Intern(d, KeyDirectory::kOverflowName, series_.get());
  // The overflow name is interned when the dimension fills, so it is small.
  return static_cast<uint16_t>(std::min<uint32_t>(id, Session::kMaxSmallId));
}

Session* SessionTracker::Create(uint64_t id, const EventView& e, const Mark& m, bool start) {
  Session* s = sessions_.Insert(id);
  s->title = keys_.Intern(Dimension::kTitle, e.title_id, series_.get());
  s->cdn = SmallId(Dimension::kCdn, e.cdn);
  s->country = SmallId(Dimension::kCountry, e.country);
  if (!e.live_event_id.empty()) s->live = SmallId(Dimension::kLiveEvent, e.live_event_id);
  s->last_ts = m.ts;
  s->flags = m.terminal ? Session::kLastTerminal : 0;
  // Devices are an enum: at most 6 names (and the overflow one).
  s->set_device(static_cast<uint8_t>(SmallId(Dimension::kDevice, DeviceTypeName(e.device_type))));
  s->trail_class = 0;
  s->trail_slot = slab_.Allocate(0);
  trail::Put(Trail(*s), trail::Value(0, m.terminal));
  s->trail_units = 1;
  s->start_index = start ? 0 : Session::kNotStarted;
  if (!start) ++stats_.sessions_without_start;
  Emit(m, kNever, start ? m.ts : kNever, +1);
  return s;
}

// The fast path: m comes after every mark of s (events in order). The start
// time only clips contributions that begin before it, so for a started
// session any time before its marks (kLongAgo) does.
void SessionTracker::Append(Session* s, const Mark& m, bool start) {
  const bool starts = start && !s->started();
  const int64_t old_start = s->started() ? kLongAgo : kNever;
  const int64_t new_start = starts ? m.ts : old_start;
  const Mark last{s->last_ts, LastTerminal(*s)};
  Emit(last, kNever, old_start, -1);
  Emit(last, m.ts, new_start, +1);
  Emit(m, kNever, new_start, +1);
  const int64_t delta = m.ts - s->last_ts;
  if (int64_t{s->span_ms} + delta > kMaxSpanMs) {  // weeks apart: let Store trim
    marks_.clear();
    trail::Decode(Trail(*s), s->trail_units, s->first_ts(), &marks_);
    const int64_t start_ts = StartTs(*s, marks_);
    marks_.push_back(m);
    Store(s, &marks_, starts ? m.ts : start_ts);
    return;
  }
  const uint64_t v = trail::Value(delta, m.terminal);
  const size_t need = trail::Units(v);
  if (s->trail_units + need > TrailSlab::ClassUnits(s->trail_class)) MakeRoom(s, need);
  if (starts) s->start_index = static_cast<uint16_t>(trail::Count(Trail(*s), s->trail_units));
  trail::Put(Trail(*s) + s->trail_units, v);
  s->trail_units = static_cast<uint16_t>(s->trail_units + need);
  s->span_ms = static_cast<uint32_t>(s->span_ms + delta);
  s->last_ts = m.ts;
  s->flags = static_cast<uint8_t>((s->flags & ~Session::kLastTerminal) |
                                  (m.terminal ? Session::kLastTerminal : 0));
}

// Drops the first mark of s (which has at least two): the second one
// becomes the first, the floor that stands for the dropped ones.
void SessionTracker::DropFirst(Session* s) {
  uint16_t* t = Trail(*s);
  uint64_t v;
  const uint16_t* after = trail::Get(t + 1, &v);
  const size_t units = static_cast<size_t>(after - (t + 1));
  t[0] = static_cast<uint16_t>(v & 1);  // delta 0, its own terminal bit
  std::memmove(t + 1, after, (s->trail_units - 1 - units) * sizeof(uint16_t));
  s->trail_units = static_cast<uint16_t>(s->trail_units - units);
  s->span_ms = static_cast<uint32_t>(s->span_ms - (v >> 1));
  s->flags |= Session::kHasFloor;
  if (s->start_index == 0) {
    s->start_index = Session::kStartedBeforeFirst;
  } else if (s->start_index < Session::kStartedBeforeFirst) {
    --s->start_index;
  }
}

// Makes room for `need` more units: drops leading marks that no event within
// the lateness bound can need (all but the last one before mutable_begin),
// else moves the trail to a bigger class.
void SessionTracker::MakeRoom(Session* s, size_t need) {
  auto second_ts = [this, s] {
    uint64_t v;
    trail::Get(Trail(*s) + 1, &v);
    return s->first_ts() + static_cast<int64_t>(v >> 1);
  };
  const size_t cap = TrailSlab::ClassUnits(s->trail_class);
  while (s->trail_units + need > cap && s->trail_units > 1 && second_ts() < clip_ms_) {
    DropFirst(s);
  }
  if (s->trail_units + need <= cap) return;
  while (s->trail_units + need > TrailSlab::kMaxUnits) {
    DropFirst(s);
    ++stats_.trail_overflows;
  }
  MoveTrail(s, s->trail_units + need);
}

// Moves the trail of s to the class for `units`, keeping its content.
void SessionTracker::MoveTrail(Session* s, size_t units) {
  const uint8_t cls = TrailSlab::ClassFor(units);
  if (cls == s->trail_class) return;
  const uint32_t slot = slab_.Allocate(cls);
  std::memcpy(slab_.At(cls, slot), Trail(*s),
              std::min<size_t>(s->trail_units, TrailSlab::ClassUnits(cls)) * sizeof(uint16_t));
  slab_.Free(s->trail_class, s->trail_slot);
  s->trail_class = cls;
  s->trail_slot = slot;
}

int64_t SessionTracker::StartTs(const Session& s, const std::vector<Mark>& marks) {
  if (s.start_index == Session::kNotStarted) return kNever;
  if (s.start_index == Session::kStartedBeforeFirst) return marks.front().ts - 1;
  return marks[s.start_index].ts;
}

// The general path: m is not after every mark (a late or repeated event).
void SessionTracker::Insert(Session* s, const Mark& m, bool start) {
  marks_.clear();
  trail::Decode(Trail(*s), s->trail_units, s->first_ts(), &marks_);
  const int64_t old_start = StartTs(*s, marks_);
  const int64_t new_start = start ? std::min(old_start, m.ts) : old_start;
  const bool start_moved = new_start != old_start;
  const size_t pos = static_cast<size_t>(std::lower_bound(marks_.begin(), marks_.end(), m) -
                                         marks_.begin());
  const bool dup = pos < marks_.size() && marks_[pos] == m;
  if (dup && !start_moved) return;  // the same event again: nothing changes
  auto next_ts = [this](size_t i) { return i + 1 < marks_.size() ? marks_[i + 1].ts : kNever; };
  // Marks before the old start change their contribution when it moves.
  const size_t moved_end =
      start_moved ? static_cast<size_t>(std::partition_point(marks_.begin(), marks_.end(),
                                                             [old_start](const Mark& x) {
                                                               return x.ts < old_start;
                                                             }) -
                                        marks_.begin())
                  : 0;
  if ((s->flags & Session::kHasFloor) && pos == 0 && !dup) {
    // Before the floor: every second it could change is frozen, but the
    // session may have started earlier than known.
    if (!start_moved) return;
    for (size_t i = 0; i < moved_end; ++i) {
      Emit(marks_[i], next_ts(i), old_start, -1);
      Emit(marks_[i], next_ts(i), new_start, +1);
    }
    s->start_index = Session::kStartedBeforeFirst;
    return;
  }
  // Changed: the mark before m (its next event becomes m), m itself, and
  // the marks whose start moved.
  const size_t first = pos > 0 ? pos - 1 : 0;
  const size_t end = std::max(pos, moved_end);
  for (size_t i = first; i < end; ++i) Emit(marks_[i], next_ts(i), old_start, -1);
  if (!dup) marks_.insert(marks_.begin() + static_cast<std::ptrdiff_t>(pos), m);
  const size_t new_end = dup ? end : end + 1;
  for (size_t i = first; i < new_end; ++i) Emit(marks_[i], next_ts(i), new_start, +1);
  Store(s, &marks_, new_start);
}

// Writes marks (sorted, unique) as the trail of s, keeping from the last
// mark before mutable_begin on; start_ts is the session's earliest start.
void SessionTracker::Store(Session* s, std::vector<Mark>* marks, int64_t start_ts) {
  const int64_t clip = clip_ms_;
  const size_t needed = static_cast<size_t>(
      std::partition_point(marks->begin(), marks->end(),
                           [clip](const Mark& x) { return x.ts < clip; }) -
      marks->begin());
  size_t drop = needed > 1 ? needed - 1 : 0;
  while (drop + 1 < marks->size() && marks->back().ts - (*marks)[drop].ts > kMaxSpanMs) {
    ++drop;
    ++stats_.trail_overflows;
  }
  std::span<const Mark> kept(marks->data() + drop, marks->size() - drop);
  size_t units = trail::EncodedUnits(kept);
  while (units > TrailSlab::kMaxUnits) {
    kept = kept.subspan(1);
    ++drop;
    ++stats_.trail_overflows;
    units = trail::EncodedUnits(kept);
  }
  if (drop > 0) s->flags |= Session::kHasFloor;
  const uint8_t cls = TrailSlab::ClassFor(units);
  if (cls != s->trail_class) {
    slab_.Free(s->trail_class, s->trail_slot);
    s->trail_class = cls;
    s->trail_slot = slab_.Allocate(cls);
  }
  trail::Encode(kept, Trail(*s));
  s->trail_units = static_cast<uint16_t>(units);
  s->last_ts = kept.back().ts;
  s->span_ms = static_cast<uint32_t>(kept.back().ts - kept.front().ts);
  s->flags = static_cast<uint8_t>((s->flags & ~Session::kLastTerminal) |
                                  (kept.back().terminal ? Session::kLastTerminal : 0));
  if (start_ts == kNever) {
    s->start_index = Session::kNotStarted;
  } else if (start_ts < kept.front().ts) {
    s->start_index = Session::kStartedBeforeFirst;
  } else {
    const auto it = std::lower_bound(kept.begin(), kept.end(), Mark{start_ts, false});
    VP_CHECK(it != kept.end() && it->ts == start_ts, "a session's start is not one of its marks");
    s->start_index = static_cast<uint16_t>(it - kept.begin());
  }
}

void SessionTracker::Forget(Session* s) {
  slab_.Free(s->trail_class, s->trail_slot);
  sessions_.Erase(s);
  ++stats_.sessions_evicted;
}

void SessionTracker::EvictIdle(size_t budget) {
  const uint32_t n = sessions_.dense_size();
  if (n == 0 || !has_time()) return;
  const int64_t idle_before = clip_ms_ - options_.timeout_ms;
  for (size_t i = 0; i < budget && i < n; ++i) {
    if (evict_cursor_ >= n) evict_cursor_ = 0;
    Session& s = sessions_.dense(evict_cursor_++);
    if (s.id == 0) continue;
    if (s.last_ts < idle_before) {
      Forget(&s);
      continue;
    }
    // Trails keep the class of their busiest window; give back what they
    // no longer need (with a little room to grow), else fill sparse pages.
    const size_t want = std::min(TrailSlab::kMaxUnits, size_t{s.trail_units} + 4);
    if (TrailSlab::ClassFor(want) < s.trail_class) {
      MoveTrail(&s, want);
    } else {
      s.trail_slot = slab_.Relocate(s.trail_class, s.trail_slot);
    }
  }
}

size_t SessionTracker::SessionBytes() const {
  return sessions_.MemoryBytes() + slab_.ReservedBytes();
}

size_t SessionTracker::MemoryBytes() const {
  return sizeof(*this) + SessionBytes() + keys_.MemoryBytes() +
         (series_ ? series_->MemoryBytes() : 0) + marks_.capacity() * sizeof(Mark) +
         deltas_.capacity() * sizeof(deltas_[0]);
}

}  // namespace viewpipe::ops
