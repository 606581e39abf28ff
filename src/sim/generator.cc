#include "sim/generator.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>

namespace viewpipe::sim {
namespace {

constexpr int64_t kWarmupMs = 10000;  // the initial audience arrives over this

int64_t FloorToSecond(int64_t ms) {
  return ms >= 0 ? ms / 1000 * 1000 : -((-ms + 999) / 1000) * 1000;
}

}  // namespace

Result<std::unique_ptr<Generator>> Generator::Create(const Scenario& scenario,
                                                     const GeneratorOptions& options) {
  std::unique_ptr<Generator> g(new Generator());
  g->start_ms_ = FloorToSecond(options.start_ms);
  g->end_ms_ = options.duration_ms > 0 ? g->start_ms_ + options.duration_ms : 0;
  g->run_key_ = Hash64(options.seed, static_cast<uint64_t>(g->start_ms_));
  const int64_t viewers = options.viewers >= 0 ? options.viewers : scenario.traffic.viewers;
  const TrafficSpec& traffic = scenario.traffic;
  // The catalog and the profiles depend on the seed only: the same seed
  // gives the same catalog CSV whenever the run starts.
  g->catalog_ = std::make_unique<Catalog>(Hash64(options.seed, 1), traffic.titles);
  int64_t profiles = traffic.profiles;
  if (profiles <= 0) {
    profiles = std::max<int64_t>(
        2000, std::llround(4.0 * static_cast<double>(viewers) * (1.0 + traffic.daily_amplitude)));
  }
  g->population_ =
      std::make_unique<Population>(Hash64(options.seed, 2), profiles, scenario.experiments);
  auto timeline = Timeline::Create(scenario, g->start_ms_, viewers, g->run_key_, *g->catalog_);
  if (!timeline.ok()) return timeline.status();
  g->timeline_ = std::move(timeline).value();
  std::vector<std::string> live_ids;
  for (const ResolvedLiveEvent& e : g->timeline_.live_events()) live_ids.push_back(e.spec.id);
  g->writer_ =
      std::make_unique<EventWriter>(g->run_key_, g->catalog_.get(), g->population_.get(), live_ids);
  g->model_ =
      std::make_unique<SessionModel>(&g->timeline_, g->catalog_.get(), g->population_.get());
  const WorldTables& w = World();
  for (const Title& t : g->catalog_->titles()) g->truth_names_[kDimTitle].push_back(t.id);
  g->truth_names_[kDimCountry].assign(w.countries.begin(), w.countries.end());
  g->truth_names_[kDimDevice].assign(w.devices.begin(), w.devices.end());
  g->truth_names_[kDimCdn].assign(w.cdns.begin(), w.cdns.end());
  g->truth_names_[kDimLiveEvent].push_back("");
  for (const std::string& id : live_ids) g->truth_names_[kDimLiveEvent].push_back(id);
  g->open_live_.assign(live_ids.size(), 0);
  g->next_tick_ = g->start_ms_;
  g->frontier_ = g->start_ms_;
  return g;
}

void Generator::EnableTruth(ConcurrencyTruth::LineSink sink) {
  truth_ = std::make_unique<ConcurrencyTruth>(truth_names_, start_ms_ / 1000, std::move(sink));
}

void Generator::Push(uint32_t slot) {
  heap_.push_back({sessions_[slot].NextDue(), slot});
  std::push_heap(heap_.begin(), heap_.end(), std::greater<HeapEntry>());
}

void Generator::EndSession(uint32_t slot) {
  const uint8_t kind = slot_kind_[slot];
  if (kind == 0) {
    --open_steady_;
  } else {
    --open_live_[kind - 1];
  }
  free_slots_.push_back(slot);
}

void Generator::Emit(Session& s, const SimEvent& e, EventSink* sink) {
  ++events_;
  if (truth_) {
    const TruthKeys keys = {s.title, s.country, s.device, s.cdn, s.live_event};
    truth_->OnEvent(&s.truth, keys, e.ts_ms, e.type, e.fatal);
  }
  sink->OnEvent(e);
}

size_t Generator::Generate(int64_t until_ms, size_t max_events, EventSink* sink) {
  if (end_ms_ > 0) until_ms = std::min(until_ms, end_ms_);
  size_t emitted = 0;
  SimEvent e;
  for (;;) {
    const int64_t next = heap_.empty() ? std::numeric_limits<int64_t>::max() : heap_.front().ts;
    if (next_tick_ <= next && next_tick_ < until_ms) {
      Tick(next_tick_, sink);
      next_tick_ += 1000;
      continue;
    }
    if (next >= until_ms) {
      frontier_ = std::max(frontier_, until_ms);
      break;
    }
    if (emitted >= max_events) {
      frontier_ = std::max(frontier_, next);
      break;
    }
    std::pop_heap(heap_.begin(), heap_.end(), std::greater<HeapEntry>());
    const uint32_t slot = heap_.back().slot;
    heap_.pop_back();
    Session& s = sessions_[slot];
    bool ended = false;
    if (model_->Step(&s, &e, &ended)) {
      Emit(s, e, sink);
      ++emitted;
    }
    if (ended) {
      EndSession(slot);
    } else {
      Push(slot);
    }
  }
  return emitted;
}

void Generator::FlushTruth() {
  if (truth_) truth_->FinishBefore(frontier_ / 1000);
}

void Generator::Tick(int64_t second_start, EventSink* sink) {
  if (truth_) truth_->FinishBefore(second_start / 1000);
  // Steady traffic: replace the sessions that ended, follow the daily curve,
  // and fill the initial audience over the first seconds.
  const int64_t desired = timeline_.DesiredSteady(second_start);
  const int64_t cap = std::max<int64_t>(10, desired * 1000 / kWarmupMs);
  const bool warm = second_start - start_ms_ < kWarmupMs;
  StartSessions(second_start, std::clamp<int64_t>(desired - open_steady_, 0, cap), -1, warm);
  for (size_t i = 0; i < open_live_.size(); ++i) {
    const int64_t want = timeline_.DesiredLive(i, second_start);
    StartSessions(second_start, std::max<int64_t>(0, want - open_live_[i]), static_cast<int>(i),
                  false);
  }
  EmitMalformed(second_start, sink);
}

void Generator::StartSessions(int64_t second_start, int64_t count, int live_index, bool warm) {
  for (int64_t k = 0; k < count; ++k) {
    uint32_t slot;
    if (free_slots_.empty()) {
      slot = static_cast<uint32_t>(sessions_.size());
      sessions_.emplace_back();
      slot_kind_.push_back(0);
    } else {
      slot = free_slots_.back();
      free_slots_.pop_back();
    }
    Session& s = sessions_[slot];
    s = Session();
    s.seq = next_session_seq_++;
    s.rng = Rng(Hash64(run_key_, s.seq, 0x53455353ULL));
    s.attempt_ts = second_start + static_cast<int64_t>(s.rng.Below(1000));
    s.next_hb = s.next_action = s.attempt_ts;
    s.warm = warm;
    s.profile = population_->SampleProfile(s.rng);
    const Profile p = population_->ProfileAt(s.profile);
    s.country = p.country;
    s.isp = p.isp;
    s.app_version = p.app_version;
    s.device = population_->SampleDevice(p, s.rng);
    s.os = s.device == p.device ? p.os : population_->SampleOs(s.device, s.rng);
    s.cdn = population_->SampleCdn(s.country, s.rng);
    s.variants = population_->Variants(s.profile);
    if (live_index >= 0) {
      s.title = timeline_.live_events()[static_cast<size_t>(live_index)].title;
      s.live_event = static_cast<uint16_t>(live_index + 1);
      ++open_live_[static_cast<size_t>(live_index)];
      slot_kind_[slot] = static_cast<uint8_t>(live_index + 1);
    } else {
      s.title = catalog_->Sample(s.rng);
      ++open_steady_;
      slot_kind_[slot] = 0;
    }
    Push(slot);
  }
}

void Generator::EmitMalformed(int64_t second_start, EventSink* sink) {
  const uint64_t produced = events_ - events_at_last_tick_;
  events_at_last_tick_ = events_;
  const double fraction = timeline_.malformed_fraction();
  if (fraction <= 0) return;
  malformed_carry_ += fraction * static_cast<double>(produced);
  const WorldTables& w = World();
  while (malformed_carry_ >= 1.0) {
    malformed_carry_ -= 1.0;
    Rng rng(Hash64(run_key_, 0x4D414C46ULL, malformed_seq_));
    SimEvent e;
    e.ts_ms = second_start;
    e.session_seq = (uint64_t{1} << 62) + malformed_seq_;
    e.type = static_cast<EventType>(1 + rng.Below(11));
    e.profile = population_->SampleProfile(rng);
    e.title = catalog_->Sample(rng);
    e.device = static_cast<uint8_t>(rng.Below(w.devices.size()));
    e.country = static_cast<uint8_t>(rng.Below(w.countries.size()));
    e.cdn = static_cast<uint8_t>(rng.Below(w.cdns.size()));
    e.isp = static_cast<uint8_t>(rng.Below(w.isps.size()));
    e.os = static_cast<uint8_t>(rng.Below(w.oses.size()));
    e.app_version = static_cast<uint8_t>(rng.Below(w.app_versions.size()));
    e.position_ms = rng.Between(0, 3600000);
    e.variants = population_->Variants(e.profile);
    e.malformed =
        static_cast<Malformed>(1 + rng.Below(static_cast<uint64_t>(Malformed::kCount) - 1));
    ++malformed_seq_;
    ++malformed_;
    sink->OnEvent(e);
  }
}

Generator::Stats Generator::stats() const {
  Stats s;
  s.open_sessions = open_steady_;
  s.target_viewers = timeline_.DesiredSteady(frontier_);
  for (size_t i = 0; i < open_live_.size(); ++i) {
    s.open_sessions += open_live_[i];
    s.target_viewers += timeline_.DesiredLive(i, frontier_);
  }
  s.sessions = next_session_seq_;
  s.events = events_;
  s.malformed = malformed_;
  return s;
}

}  // namespace viewpipe::sim
