#pragma once
// Generator: the simulated world. Plays every session of the population in
// simulated time and emits their events in non-decreasing ts order (plus
// the scenario's malformed extras), computing the concurrency truth as it
// goes. The stream (ids, times, fields) is a pure function of (seed,
// start, duration, viewers, scenario): however it is driven — one call or
// many, with or without an event budget — it comes out the same.
//
// Scale: one Session (~150 bytes) and one heap entry per open session, so
// a million concurrent viewers take ~200 MB. Not thread safe.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "sim/catalog.h"
#include "sim/event_writer.h"
#include "sim/population.h"
#include "sim/scenario.h"
#include "sim/session.h"
#include "sim/timeline.h"
#include "sim/truth.h"

namespace viewpipe::sim {

struct GeneratorOptions {
  uint64_t seed = 1;
  int64_t start_ms = 0;     // rounded down to a whole second
  int64_t duration_ms = 0;  // 0: no end
  int64_t viewers = -1;     // steady concurrent viewers; -1: the scenario's
};

class EventSink {
 public:
  virtual ~EventSink() = default;
  virtual void OnEvent(const SimEvent& e) = 0;
};

class Generator {
 public:
  static Result<std::unique_ptr<Generator>> Create(const Scenario& scenario,
                                                   const GeneratorOptions& options);

  // Sends a truth line (ConcurrencyTruth's format) per finished second.
  // Call before generating.
  void EnableTruth(ConcurrencyTruth::LineSink sink);

  // Emits the events with ts < until_ms, at most max_events of them
  // (malformed extras come on top); returns how many it emitted. Never
  // emits at or past the end.
  size_t Generate(int64_t until_ms, size_t max_events, EventSink* sink);
  // Every event with ts < frontier() has been emitted.
  int64_t frontier() const { return frontier_; }
  bool done() const { return end_ms_ > 0 && frontier_ >= end_ms_; }
  // Writes the truth of every second that ends before frontier().
  void FlushTruth();

  int64_t start_ms() const { return start_ms_; }
  int64_t end_ms() const { return end_ms_; }  // 0: unbounded
  uint64_t run_key() const { return run_key_; }
  const Catalog& catalog() const { return *catalog_; }
  const Population& population() const { return *population_; }
  const Timeline& timeline() const { return timeline_; }
  const EventWriter& writer() const { return *writer_; }

  struct Stats {
    int64_t open_sessions = 0;
    int64_t target_viewers = 0;  // steady + live, at the frontier
    uint64_t sessions = 0;       // started so far
    uint64_t events = 0;         // valid events emitted
    uint64_t malformed = 0;
  };
  Stats stats() const;

 private:
  Generator() = default;
  struct HeapEntry {
    int64_t ts;
    uint32_t slot;
    bool operator>(const HeapEntry& o) const { return ts != o.ts ? ts > o.ts : slot > o.slot; }
  };
  void Tick(int64_t second_start, EventSink* sink);
  // Opens count sessions whose attempts fall in the second (live_index -1:
  // steady traffic).
  void StartSessions(int64_t second_start, int64_t count, int live_index, bool warm);
  void EmitMalformed(int64_t second_start, EventSink* sink);
  void Emit(Session& s, const SimEvent& e, EventSink* sink);
  void EndSession(uint32_t slot);
  void Push(uint32_t slot);

  uint64_t run_key_ = 0;
  int64_t start_ms_ = 0, end_ms_ = 0;
  std::unique_ptr<Catalog> catalog_;
  std::unique_ptr<Population> population_;
  Timeline timeline_;
  std::unique_ptr<EventWriter> writer_;
  std::unique_ptr<SessionModel> model_;
  std::unique_ptr<ConcurrencyTruth> truth_;
  std::array<std::vector<std::string>, kDimCount> truth_names_;

  std::vector<Session> sessions_;
  std::vector<uint32_t> free_slots_;
  std::vector<uint8_t> slot_kind_;  // 0: steady, i+1: live event i
  std::vector<HeapEntry> heap_;
  int64_t next_tick_ = 0;
  int64_t frontier_ = 0;
  int64_t open_steady_ = 0;
  std::vector<int64_t> open_live_;
  uint64_t next_session_seq_ = 0;
  uint64_t events_ = 0, malformed_ = 0;
  uint64_t events_at_last_tick_ = 0;
  double malformed_carry_ = 0;
  uint64_t malformed_seq_ = 0;
};

}  // namespace viewpipe::sim
