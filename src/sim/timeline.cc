#include "sim/timeline.h"

#include <algorithm>
#include <cmath>

#include "common/json_writer.h"
#include "sim/population.h"
#include "sim/random.h"

namespace viewpipe::sim {

Result<Timeline> Timeline::Create(const Scenario& scenario, int64_t start_ms, int64_t viewers,
                                  uint64_t run_key, const Catalog& catalog) {
  Timeline t;
  t.scenario_ = scenario;
  t.start_ms_ = start_ms;
  t.viewers_ = viewers;
  t.run_key_ = run_key;
  for (const LiveEventSpec& spec : scenario.live_events) {
    ResolvedLiveEvent e{spec};
    if (spec.title_id.empty()) {
      e.title = catalog.MostPopularLive();
    } else {
      int i = catalog.Find(spec.title_id);
      if (i < 0) {
        return Status::InvalidArgument("live_event " + spec.id + ": title_id " + spec.title_id +
                                       " is not in the catalog (t00001..)");
      }
      e.title = static_cast<uint32_t>(i);
    }
    e.start_ms = start_ms + spec.at_ms;
    e.end_ms = e.start_ms + spec.duration_ms;
    t.live_.push_back(e);
  }
  for (const CdnOutageSpec& spec : scenario.cdn_outages) {
    ResolvedOutage o{spec};
    o.cdn = Population::FindCdn(spec.cdn);
    if (o.cdn < 0) {
      return Status::InvalidArgument("cdn_outage: unknown cdn '" + spec.cdn +
                                     "' (the simulated CDNs are cdn-a, cdn-b, cdn-c, cdn-d)");
    }
    if (!spec.country.empty()) {
      o.country = Population::FindCountry(spec.country);
      if (o.country < 0) {
        return Status::InvalidArgument("cdn_outage: country '" + spec.country +
                                       "' is not one of the simulated countries");
      }
    }
    o.start_ms = start_ms + spec.at_ms;
    o.end_ms = o.start_ms + spec.duration_ms;
    t.outages_.push_back(o);
  }
  return t;
}

int64_t Timeline::DesiredSteady(int64_t t) const {
  const TrafficSpec& tr = scenario_.traffic;
  if (tr.daily_amplitude == 0) return viewers_;
  // Hour of the (compressed) day: a real day maps to UTC hours.
  const int64_t day = tr.day_length_ms;
  const double hour =
      static_cast<double>(((t % day) + day) % day) / static_cast<double>(day) * 24.0;
  const double factor =
      1.0 + tr.daily_amplitude * std::cos(2 * M_PI * (hour - tr.peak_hour) / 24.0);
  return std::llround(static_cast<double>(viewers_) * factor);
}

int64_t Timeline::DesiredLive(size_t i, int64_t t) const {
  const ResolvedLiveEvent& e = live_[i];
  if (t < e.start_ms || t >= e.end_ms) return 0;
  const double ramp = e.spec.ramp_ms <= 0
                          ? 1.0
                          : std::min(1.0, static_cast<double>(t - e.start_ms + 1000) /
                                              static_cast<double>(e.spec.ramp_ms));
  return std::llround(static_cast<double>(viewers_) * (e.spec.multiplier - 1.0) * ramp);
}

Conditions Timeline::ConditionsAt(uint8_t cdn, uint8_t country, int64_t t) const {
  Conditions c;
  for (const ResolvedOutage& o : outages_) {
    if (t < o.start_ms || t >= o.end_ms || o.cdn != cdn) continue;
    if (o.country >= 0 && o.country != country) continue;
    if (o.spec.kind == OutageKind::kStartFailures) {
      c.start_failure = std::max(c.start_failure, o.spec.severity);
      c.start_outage = true;
    } else {
      c.rebuffering = std::max(c.rebuffering, o.spec.severity);
    }
  }
  return c;
}

std::optional<Timeline::Offline> Timeline::OfflineWindow(uint64_t session_seq) const {
  const auto& windows = scenario_.late_deliveries;
  for (size_t w = 0; w < windows.size(); ++w) {
    const LateDeliverySpec& l = windows[w];
    Rng rng(Hash64(run_key_, session_seq, 0x4C415445ULL + w));
    if (!rng.Chance(l.fraction)) continue;
    Offline off;
    off.start = start_ms_ + l.at_ms +
                static_cast<int64_t>(rng.Uniform() * static_cast<double>(l.duration_ms));
    off.end = off.start + rng.Between(l.offline_min_ms, l.offline_max_ms);
    return off;
  }
  return std::nullopt;
}

double Timeline::DuplicateFraction(int64_t t) const {
  double f = 0;
  for (const DuplicatesSpec& d : scenario_.duplicates) {
    const int64_t begin = start_ms_ + d.at_ms;
    if (t < begin || (d.duration_ms > 0 && t >= begin + d.duration_ms)) continue;
    f = std::max(f, d.fraction);
  }
  return f;
}

std::string Timeline::DescribeWindows(const Catalog& catalog) const {
  std::string out;
  for (const ResolvedOutage& o : outages_) {
    out += "{\"outage\":{\"cdn\":";
    AppendJsonString(&out, o.spec.cdn);
    out += ",\"country\":";
    if (o.spec.country.empty()) {
      out += "null";
    } else {
      AppendJsonString(&out, o.spec.country);
    }
    out += ",\"start\":";
    AppendJsonInt(&out, o.start_ms);
    out += ",\"end\":";
    AppendJsonInt(&out, o.end_ms);
    out += ",\"kind\":";
    AppendJsonString(&out, OutageKindName(o.spec.kind));
    out += ",\"severity\":";
    AppendJsonDouble(&out, o.spec.severity);
    out += "}}\n";
  }
  for (const ResolvedLiveEvent& e : live_) {
    out += "{\"live_event\":{\"live_event_id\":";
    AppendJsonString(&out, e.spec.id);
    out += ",\"title_id\":";
    AppendJsonString(&out, catalog.at(e.title).id);
    out += ",\"start\":";
    AppendJsonInt(&out, e.start_ms);
    out += ",\"ramp_end\":";
    AppendJsonInt(&out, e.start_ms + e.spec.ramp_ms);
    out += ",\"end\":";
    AppendJsonInt(&out, e.end_ms);
    out += ",\"multiplier\":";
    AppendJsonDouble(&out, e.spec.multiplier);
    out += "}}\n";
  }
  return out;
}

}  // namespace viewpipe::sim
