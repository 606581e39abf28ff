// The simulator's event stream: determinism, validity against the real
// parser, the session lifecycle of events.md, and the scenario effects
// (live-event spike, CDN outage) measured from what it generates.

#include <gtest/gtest.h>
#include <simdjson.h>

#include <cmath>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "common/clock.h"
#include "event/codec.h"
#include "event/parser.h"
#include "sim/generator.h"
#include "sim/population.h"
#include "sim/scenario.h"
#include "sim/sim_test_util.h"
#include "sim/simulator.h"

namespace viewpipe::sim {
namespace {

using testing::Generate;
using testing::kStart;

std::string Joined(const testing::Run& run) {
  std::string s;
  for (const std::string& j : run.json) s += j + "\n";
  return s;
}

// A copy of one parsed event that outlives the parse buffer.
struct Parsed {
  std::string event_id, session_id, error_code, live_event_id, cdn, country;
  EventType type;
  int64_t ts;
  std::optional<int64_t> position_ms;
  std::optional<int32_t> bitrate_kbps, startup_ms, rebuffer_ms;
  std::optional<bool> fatal;
};

// Posts the run through the real parser, 1,000 events a body, as the
// collector would at the end of the run; returns the accepted events in
// order and counts the rejected ones.
std::vector<Parsed> ParseAll(const testing::Run& run, std::vector<RejectedEvent>* rejected) {
  std::vector<Parsed> out;
  const int64_t received_at = run.gen->end_ms();
  for (size_t i = 0; i < run.json.size(); i += 1000) {
    std::string body;
    for (size_t k = i; k < std::min(run.json.size(), i + 1000); ++k) body += run.json[k] + "\n";
    auto batch = ParseBatch(body, BodyFormat::kNdjson, received_at, ParseLimits());
    EXPECT_TRUE(batch.ok()) << batch.status().ToString();
    if (!batch.ok()) return out;
    for (const AcceptedEvent& a : batch->accepted) {
      EventView v;
      DecodedIds ids;
      EXPECT_TRUE(DecodeEvent(a.encoded, &v, &ids).ok());
      out.push_back({std::string(v.event_id), std::string(v.session_id), std::string(v.error_code),
                     std::string(v.live_event_id), std::string(v.cdn), std::string(v.country),
                     v.type, v.ts_ms, v.position_ms, v.bitrate_kbps, v.startup_ms, v.rebuffer_ms,
                     v.fatal});
    }
    for (RejectedEvent& r : batch->rejected) rejected->push_back(std::move(r));
  }
  return out;
}

Scenario Steady() {
  Scenario s = DefaultScenario();
  s.malformed_fraction = 0.01;
  return s;
}

TEST(SimDeterminismTest, SameSeedSameStreamDifferentSeedDifferentStream) {
  auto a = Generate(Steady(), 300, 90'000, 42);
  auto b = Generate(Steady(), 300, 90'000, 42);
  auto c = Generate(Steady(), 300, 90'000, 43);
  ASSERT_GT(a->json.size(), 1000u);
  EXPECT_EQ(Joined(*a), Joined(*b));
  EXPECT_EQ(a->truth, b->truth);
  EXPECT_NE(Joined(*a), Joined(*c));
  // Ids are UUID-formatted and unique.
  std::set<std::string> ids;
  for (const SimEvent& e : a->events) {
    const std::string id = a->gen->writer().EventId(e);
    EXPECT_EQ(id.size(), 36u);
    EXPECT_EQ(id[14], '4');
    ids.insert(id);
  }
  EXPECT_EQ(ids.size(), a->events.size());
}

TEST(SimDeterminismTest, HowTheGeneratorIsDrivenDoesNotChangeTheStream) {
  auto whole = Generate(Steady(), 200, 60'000, 5);
  testing::Run pieces;
  GeneratorOptions o;
  o.seed = 5;
  o.start_ms = kStart;
  o.duration_ms = 60'000;
  o.viewers = 200;
  pieces.gen = std::move(Generator::Create(Steady(), o)).value();
  testing::Collect sink(&pieces);
  // Odd until steps and tiny event budgets, as a rate cap would drive it.
  for (int64_t until = kStart; !pieces.gen->done(); until += 777) {
    while (pieces.gen->Generate(until, 13, &sink) == 13) {
    }
  }
  EXPECT_EQ(Joined(*whole), Joined(pieces));
}

TEST(SimDeterminismTest, EventIdsDependOnTheStartSoRerunsAreNotDuplicates) {
  auto a = Generate(Steady(), 50, 20'000, 1, kStart);
  auto b = Generate(Steady(), 50, 20'000, 1, kStart + 3'600'000);
  EXPECT_NE(a->gen->writer().EventId(a->events[0]), b->gen->writer().EventId(b->events[0]));
  // The catalog depends on the seed only.
  EXPECT_EQ(a->gen->catalog().ToCsv(), b->gen->catalog().ToCsv());
}

TEST(SimValidityTest, EveryEventPassesTheRealParserExceptTheMalformedOnes) {
  Scenario s = Steady();
  s.malformed_fraction = 0.02;
  auto run = Generate(s, 500, 120'000);
  std::vector<RejectedEvent> rejected;
  const std::vector<Parsed> accepted = ParseAll(*run, &rejected);
  size_t malformed = 0;
  std::set<Malformed> kinds;
  std::set<std::string> malformed_ids;
  for (const SimEvent& e : run->events) {
    if (e.malformed == Malformed::kNone) continue;
    ++malformed;
    kinds.insert(e.malformed);
    malformed_ids.insert(run->gen->writer().EventId(e));
  }
  EXPECT_GT(malformed, 100u);
  EXPECT_EQ(kinds.size(), static_cast<size_t>(Malformed::kCount) - 1) << "every kind appears";
  EXPECT_EQ(rejected.size(), malformed);
  EXPECT_EQ(accepted.size() + rejected.size(), run->events.size());
  for (const RejectedEvent& r : rejected) {
    // Every rejection is one we meant, for a reason the parser names.
    EXPECT_FALSE(r.error.empty());
    if (!r.event_id.empty()) {
      EXPECT_TRUE(malformed_ids.count(r.event_id)) << r.error << " " << r.raw;
    }
  }
}

TEST(SimLifecycleTest, SessionsFollowThePlayerContract) {
  auto run = Generate(Steady(), 1500, 300'000);
  std::vector<RejectedEvent> rejected;
  const std::vector<Parsed> events = ParseAll(*run, &rejected);
  std::map<std::string, std::vector<const Parsed*>> sessions;
  for (const Parsed& e : events) sessions[e.session_id].push_back(&e);
  ASSERT_GT(sessions.size(), 1500u);
  std::map<EventType, int> seen;
  int vsf = 0, ebvs = 0, playback_failures = 0;
  for (const auto& [id, evs] : sessions) {
    ASSERT_EQ(evs.front()->type, EventType::kAttempt) << id;
    const int64_t attempt = evs.front()->ts;
    const int64_t last = evs.back()->ts;
    std::set<int64_t> heartbeats;
    bool started = false, paused = false, stalled = false;
    int64_t stall_start = 0;
    for (size_t i = 0; i < evs.size(); ++i) {
      const Parsed& e = *evs[i];
      ++seen[e.type];
      if (i > 0) {
        EXPECT_GE(e.ts, evs[i - 1]->ts) << id;
        EXPECT_LE(e.ts - evs[i - 1]->ts, 10000) << id << ": a gap longer than a heartbeat";
        EXPECT_NE(e.type, EventType::kAttempt) << id;
      }
      const bool terminal =
          e.type == EventType::kStop || (e.type == EventType::kError && e.fatal.value_or(false));
      if (terminal) {
        EXPECT_EQ(i + 1, evs.size()) << id << ": an event after stop / fatal error";
      }
      EXPECT_TRUE(e.position_ms.has_value());
      switch (e.type) {
        case EventType::kHeartbeat:
          heartbeats.insert(e.ts);
          if (started) {
            EXPECT_TRUE(e.bitrate_kbps.has_value());
          }
          break;
        case EventType::kPlayStart:
          EXPECT_FALSE(started) << id;
          started = true;
          ASSERT_TRUE(e.startup_ms.has_value());
          EXPECT_EQ(*e.startup_ms, e.ts - attempt);
          EXPECT_TRUE(e.bitrate_kbps.has_value());
          break;
        case EventType::kPause:
          EXPECT_TRUE(started && !paused && !stalled) << id;
          paused = true;
          break;
        case EventType::kResume:
          EXPECT_TRUE(paused) << id;
          paused = false;
          break;
        case EventType::kRebufferStart:
          EXPECT_TRUE(started && !paused && !stalled) << id;
          stalled = true;
          stall_start = e.ts;
          break;
        case EventType::kRebufferEnd:
          EXPECT_TRUE(stalled) << id;
          ASSERT_TRUE(e.rebuffer_ms.has_value());
          EXPECT_EQ(*e.rebuffer_ms, e.ts - stall_start);
          stalled = false;
          break;
        case EventType::kSeek:
        case EventType::kBitrateChange:
          EXPECT_TRUE(started && !paused && !stalled) << id;
          if (e.type == EventType::kBitrateChange) {
            EXPECT_TRUE(e.bitrate_kbps.has_value());
          }
          break;
        case EventType::kError:
          EXPECT_FALSE(e.error_code.empty());
          ASSERT_TRUE(e.fatal.has_value());
          if (*e.fatal && !started) ++vsf;
          if (*e.fatal && started) ++playback_failures;
          break;
        case EventType::kStop:
          if (!started) ++ebvs;
          break;
        default:
          break;
      }
    }
    // A heartbeat every 10 s from the attempt for as long as the session is open.
    std::set<int64_t> expected;
    for (int64_t t = attempt + 10000; t <= last; t += 10000) expected.insert(t);
    EXPECT_EQ(heartbeats, expected) << id;
  }
  // Every kind of event and every way a session ends shows up.
  for (int t = 1; t <= 11; ++t) EXPECT_GT(seen[static_cast<EventType>(t)], 0) << "type " << t;
  EXPECT_GT(vsf, 0);
  EXPECT_GT(ebvs, 0);
  EXPECT_GT(playback_failures, 0);
}

// The truth line of second `s` (seconds from the start) parsed: dim -> key -> viewers.
struct TruthAt {
  int64_t total = 0;
  std::map<std::string, std::map<std::string, int64_t>> groups;
};
TruthAt ParseTruth(const std::string& line) {
  TruthAt t;
  simdjson::dom::parser parser;
  simdjson::dom::element doc = parser.parse(line);
  t.total = doc["total"].get_int64();
  for (auto dim : kTruthDimNames) {
    for (auto [key, value] : doc[dim].get_object()) {
      t.groups[std::string(dim)][std::string(key)] = value.get_int64();
    }
  }
  return t;
}

TEST(SimScenarioTest, SteadyTrafficHoldsTheViewerCount) {
  auto run = Generate(Steady(), 2000, 180'000);
  ASSERT_EQ(run->truth.size(), 180u);
  for (int s : {20, 60, 120, 179}) {
    TruthAt t = ParseTruth(run->truth[s]);
    EXPECT_NEAR(t.total, 2000, 100) << "second " << s;
    int64_t by_cdn = 0;
    for (auto& [k, v] : t.groups["cdn"]) by_cdn += v;
    EXPECT_EQ(by_cdn, t.total);
    EXPECT_TRUE(t.groups["live_event_id"].empty());
  }
}

TEST(SimScenarioTest, LiveEventBringsTenTimesTheViewersWithinAMinute) {
  Scenario s = Steady();
  LiveEventSpec live;
  live.id = "live-final";
  live.at_ms = 60'000;
  live.ramp_ms = 60'000;
  live.duration_ms = 180'000;
  live.multiplier = 10;
  s.live_events.push_back(live);
  auto run = Generate(s, 400, 400'000);
  ASSERT_EQ(run->truth.size(), 400u);
  TruthAt before = ParseTruth(run->truth[55]);
  TruthAt peak = ParseTruth(run->truth[121]);  // one minute into the event
  TruthAt later = ParseTruth(run->truth[200]);
  // The event ends at 240 s; its viewers leave within 90 s (the silent ones
  // count 30 s more).
  TruthAt after = ParseTruth(run->truth[361]);
  EXPECT_NEAR(before.total, 400, 40);
  EXPECT_TRUE(before.groups["live_event_id"].empty());
  EXPECT_GT(peak.total, 9 * before.total);
  EXPECT_LT(peak.total, 11 * before.total);
  EXPECT_GT(later.total, 9 * before.total);
  const std::string live_title = run->gen->catalog().at(run->gen->catalog().MostPopularLive()).id;
  EXPECT_NEAR(peak.groups["live_event_id"]["live-final"], 3600, 200);
  EXPECT_GE(peak.groups["title_id"][live_title], peak.groups["live_event_id"]["live-final"]);
  EXPECT_NEAR(after.total, before.total, 60);
  EXPECT_TRUE(after.groups["live_event_id"].empty());
  // Live events carry the live_event_id.
  size_t live_events = 0;
  for (const std::string& j : run->json)
    live_events += j.find("\"live_event_id\":\"live-final\"") != std::string::npos;
  EXPECT_GT(live_events, 10000u);
}

struct StartStats {
  int attempts = 0, failures = 0;
  double Rate() const { return attempts ? static_cast<double>(failures) / attempts : 0; }
};

// Video start failures of sessions attempted in [from, to), by cdn (and country).
std::map<std::string, StartStats> StartFailures(const testing::Run& run, int64_t from, int64_t to,
                                                const std::string& only_country = "",
                                                bool exclude_country = false) {
  std::vector<RejectedEvent> rejected;
  const std::vector<Parsed> events = ParseAll(run, &rejected);
  std::map<std::string, const Parsed*> attempts;
  std::map<std::string, StartStats> by_cdn;
  std::set<std::string> failed;
  std::map<std::string, bool> started;
  for (const Parsed& e : events) {
    if (e.type == EventType::kAttempt && e.ts >= from && e.ts < to) {
      if (!only_country.empty() && (e.country == only_country) == exclude_country) continue;
      attempts[e.session_id] = &e;
    }
    if (e.type == EventType::kPlayStart) started[e.session_id] = true;
    if (e.type == EventType::kError && e.fatal.value_or(false) && !started[e.session_id]) {
      failed.insert(e.session_id);
    }
  }
  for (const auto& [id, a] : attempts) {
    ++by_cdn[a->cdn].attempts;
    by_cdn[a->cdn].failures += failed.count(id);
  }
  return by_cdn;
}

TEST(SimScenarioTest, OutageRaisesStartFailuresOnTheChosenCdnOnly) {
  Scenario s = Steady();
  CdnOutageSpec o;
  o.cdn = "cdn-b";
  o.at_ms = 0;
  o.duration_ms = 60'000;
  o.kind = OutageKind::kStartFailures;
  o.severity = 0.6;
  s.cdn_outages.push_back(o);
  auto run = Generate(s, 3000, 150'000);
  auto during = StartFailures(*run, kStart, kStart + 60'000);
  auto after = StartFailures(*run, kStart + 70'000, kStart + 150'000);
  ASSERT_GT(during["cdn-b"].attempts, 300);
  EXPECT_GT(during["cdn-b"].Rate(), 0.45);
  for (const char* cdn : {"cdn-a", "cdn-c", "cdn-d"}) {
    EXPECT_GT(during[cdn].attempts, 100) << cdn;
    EXPECT_LT(during[cdn].Rate(), 0.05) << cdn;
  }
  EXPECT_GT(after["cdn-b"].attempts, 10);
  EXPECT_LT(after["cdn-b"].Rate(), 0.1);
  // The truth file names the window.
  const std::string windows = run->gen->timeline().DescribeWindows(run->gen->catalog());
  EXPECT_NE(windows.find("{\"outage\":{\"cdn\":\"cdn-b\",\"country\":null,\"start\":" +
                         std::to_string(kStart) + ",\"end\":" + std::to_string(kStart + 60'000) +
                         ",\"kind\":\"start_failures\""),
            std::string::npos)
      << windows;
}

TEST(SimScenarioTest, OutageCanHitOneCountryOnly) {
  Scenario s = Steady();
  CdnOutageSpec o;
  o.cdn = "cdn-c";
  o.country = "DE";
  o.at_ms = 0;
  o.duration_ms = 60'000;
  o.severity = 0.8;
  s.cdn_outages.push_back(o);
  auto run = Generate(s, 6000, 60'000);
  auto de = StartFailures(*run, kStart, kStart + 60'000, "DE");
  auto elsewhere = StartFailures(*run, kStart, kStart + 60'000, "DE", true);
  ASSERT_GT(de["cdn-c"].attempts, 50);
  EXPECT_GT(de["cdn-c"].Rate(), 0.6);
  EXPECT_LT(de["cdn-a"].Rate(), 0.05);
  EXPECT_LT(elsewhere["cdn-c"].Rate(), 0.05);
}

TEST(SimScenarioTest, RebufferingOutageStallsTheCdn) {
  Scenario s = Steady();
  CdnOutageSpec o;
  o.cdn = "cdn-a";
  o.at_ms = 60'000;
  o.duration_ms = 60'000;
  o.kind = OutageKind::kRebuffering;
  s.cdn_outages.push_back(o);
  auto run = Generate(s, 2000, 120'000);
  std::map<std::string, int> stalls_during, stalls_before;
  for (const SimEvent& e : run->events) {
    if (e.type != EventType::kRebufferStart || e.malformed != Malformed::kNone) continue;
    const std::string cdn(World().cdns[e.cdn]);
    (e.ts_ms >= kStart + 60'000 ? stalls_during : stalls_before)[cdn]++;
  }
  EXPECT_GT(stalls_during["cdn-a"], 10 * std::max(1, stalls_before["cdn-a"]));
  EXPECT_LT(stalls_during["cdn-b"], 5 * std::max(5, stalls_before["cdn-b"]));
}

TEST(SimPopulationTest, ExperimentAssignmentIsTheDocumentedHash) {
  Scenario s = DefaultScenario();
  Population pop(9, 20000, s.experiments);
  int treatment = 0;
  for (uint32_t p = 0; p < 20000; ++p) {
    const uint64_t v = pop.Variants(p);
    const std::string key = Population::ProfileId(p) + ":exp-autoplay";
    const uint64_t bucket = Fmix64(Fnv1a64(key)) % 10000;
    EXPECT_EQ(v & 0xF, bucket < 5000 ? 0u : 1u);
    treatment += (v & 0xF) == 1;
    EXPECT_EQ(pop.Variants(p), v) << "stable";
  }
  EXPECT_NEAR(treatment, 10000, 300);
  EXPECT_DOUBLE_EQ(pop.WatchTimeFactor(1), 1.05);  // exp-autoplay treatment
  EXPECT_DOUBLE_EQ(pop.WatchTimeFactor(0), 1.0);
}

TEST(SimPopulationTest, CatalogCsvAndPopularity) {
  Catalog c(3, 500);
  const std::string csv = c.ToCsv();
  EXPECT_EQ(csv.substr(0, csv.find('\n')), "title_id,genre,kind,duration_s");
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 501);
  EXPECT_NE(csv.find("\nt00010,"), std::string::npos);
  EXPECT_EQ(c.at(c.MostPopularLive()).kind, TitleKind::kLive);
  Rng rng(1);
  std::vector<int> hits(c.size());
  for (int i = 0; i < 100000; ++i) ++hits[c.Sample(rng)];
  std::sort(hits.rbegin(), hits.rend());
  // Zipf: the top title gets ~1/H(500) = 15 % of the picks, rank 10 a tenth of that.
  EXPECT_NEAR(hits[0], 14700, 1200);
  EXPECT_NEAR(hits[9], 1470, 300);
}

TEST(SimScenarioFileTest, TheShippedDemoScenarioIsTheBuiltInOne) {
  std::ifstream in(std::string(VP_SOURCE_DIR) + "/scenarios/demo.toml");
  ASSERT_TRUE(in) << "scenarios/demo.toml";
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(text.str(), DemoScenarioToml());
  auto s = ParseScenarioToml(DemoScenarioToml(), "demo");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->name, "demo");
  ASSERT_EQ(s->live_events.size(), 1u);
  EXPECT_EQ(s->live_events[0].at_ms, 60'000);
  EXPECT_EQ(s->live_events[0].ramp_ms, 60'000);
  EXPECT_EQ(s->live_events[0].multiplier, 10);
  ASSERT_EQ(s->cdn_outages.size(), 2u);
  EXPECT_EQ(s->cdn_outages[0].at_ms, 180'000);
  EXPECT_EQ(s->cdn_outages[0].duration_ms, 120'000);
  ASSERT_EQ(s->experiments.size(), 2u);
  ASSERT_EQ(s->experiments[0].effects.size(), 1u);
  EXPECT_EQ(s->experiments[0].effects[0].variant, "treatment");
  EXPECT_DOUBLE_EQ(s->experiments[0].effects[0].watch_time, 0.05);
}

TEST(SimScenarioFileTest, BadScenariosAreRefusedWithTheKey) {
  auto typo = ParseScenarioToml("[traffic]\nviewrs = 10\n", "x.toml");
  ASSERT_FALSE(typo.ok());
  EXPECT_NE(typo.status().message().find("traffic.viewrs"), std::string::npos);
  auto kind = ParseScenarioToml("[[cdn_outage]]\ncdn = \"cdn-a\"\nkind = \"meltdown\"\n", "x");
  ASSERT_FALSE(kind.ok());
  EXPECT_NE(kind.status().message().find("kind"), std::string::npos);
  auto dur = ParseScenarioToml("[[live_event]]\nid = \"l\"\nat = \"soon\"\n", "x");
  ASSERT_FALSE(dur.ok());
  EXPECT_FALSE(ParseScenarioToml("not toml [", "x").ok());
  // Unknown CDN: caught when the timeline is placed.
  auto cdn = ParseScenarioToml("[[cdn_outage]]\ncdn = \"cdn-z\"\n", "x");
  ASSERT_TRUE(cdn.ok());
  GeneratorOptions o;
  o.start_ms = kStart;
  EXPECT_FALSE(Generator::Create(*cdn, o).ok());
}

TEST(SimScenarioFileTest, Durations) {
  EXPECT_EQ(ParseDurationMs("90s").value(), 90'000);
  EXPECT_EQ(ParseDurationMs("10m").value(), 600'000);
  EXPECT_EQ(ParseDurationMs("1h30m").value(), 5'400'000);
  EXPECT_EQ(ParseDurationMs("250ms").value(), 250);
  EXPECT_EQ(ParseDurationMs("20").value(), 20'000);
  EXPECT_EQ(ParseDurationMs("1.5s").value(), 1'500);
  EXPECT_FALSE(ParseDurationMs("").ok());
  EXPECT_FALSE(ParseDurationMs("10x").ok());
  EXPECT_FALSE(ParseDurationMs("m").ok());
}

// The simulator in file mode: late delivery holds events back, the output
// holds every generated event once.
TEST(SimulatorTest, OfflineDevicesSendLate) {
  const std::string path = ::testing::TempDir() + "/sim_out.ndjson";
  SimOptions o;
  o.scenario = Steady();
  LateDeliverySpec late;
  late.at_ms = 10'000;
  late.duration_ms = 10'000;
  late.fraction = 0.2;
  late.offline_min_ms = 30'000;
  late.offline_max_ms = 40'000;
  o.scenario.late_deliveries.push_back(late);
  o.viewers = 300;
  o.duration_ms = 90'000;
  o.speed = 0;
  o.start_ms = kStart;
  o.out_path = path;
  Simulator simulator(o);
  ASSERT_TRUE(simulator.Run().ok());
  const SimProgress p = simulator.progress();
  EXPECT_GT(p.released_late, 100u);
  EXPECT_EQ(p.held, 0u);
  std::ifstream in(path);
  std::string line;
  size_t lines = 0, late_lines = 0;
  int64_t newest = 0;
  simdjson::dom::parser parser;
  while (std::getline(in, line)) {
    ++lines;
    simdjson::dom::element e = parser.parse(line);
    int64_t ts = 0;
    if (e["ts"].get_int64().get(ts) != simdjson::SUCCESS) continue;  // malformed ts
    if (ts < newest - 25'000) ++late_lines;
    newest = std::max(newest, ts);
  }
  EXPECT_EQ(lines, p.generated + p.malformed);
  EXPECT_GT(late_lines, 100u);
}

// A live run's simulated clock is the wall clock, whenever in its second
// it starts (the run starts at .9 s here, where a start floored to the
// second put every event 0.9 s and the setup time behind the clock).
TEST(SimulatorTest, ALiveRunStampsEventsWithTheWallClock) {
  while (Clock::System()->NowMs() % 1000 < 900) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  SimOptions o;
  o.scenario = Steady();
  o.viewers = 200;
  o.duration_ms = 3'000;
  o.speed = 1;
  o.out_path = ::testing::TempDir() + "/sim_live.ndjson";
  std::vector<int64_t> behind;
  o.on_progress = [&behind](const SimProgress& p) {
    behind.push_back(Clock::System()->NowMs() - p.sim_time_ms);
  };
  Simulator simulator(o);
  ASSERT_TRUE(simulator.Run().ok());
  ASSERT_GE(behind.size(), 2u);
  for (int64_t b : behind) {
    EXPECT_LT(std::abs(b), 300) << "the simulated clock is " << b << " ms behind the wall clock";
  }
}

// A/A fairness of the assignment hash: 400 experiments over 20,000
// neighbouring profiles, 50/50. Under a fair split each count is
// Binomial(20000, 1/2): |z| > 3.29 (p < 0.001) about 0.4 times in 400 and
// |z| > 1.96 (p < 0.05) about 20 times; a biased hash breaks the bounds.
TEST(SimPopulationTest, AssignmentIsAFairSplitForNeighbouringProfiles) {
  std::vector<ExperimentSpec> experiments;
  int flagged_001 = 0, flagged_05 = 0;
  for (int batch = 0; batch < 40; ++batch) {
    experiments.clear();
    for (int e = 0; e < 10; ++e) {
      experiments.push_back({"exp-aa-" + std::to_string(batch * 10 + e), {"a", "b"}, {50, 50}, {}});
    }
    Population pop(1, 20000, experiments);
    std::vector<int> b(10, 0);
    for (uint32_t p = 0; p < 20000; ++p) {
      const uint64_t v = pop.Variants(p);
      for (int e = 0; e < 10; ++e) b[e] += ((v >> (4 * e)) & 0xF) == 1;
    }
    for (int e = 0; e < 10; ++e) {
      const double z = (b[e] - 10000.0) / std::sqrt(20000.0 / 4);
      flagged_001 += std::abs(z) > 3.29;
      flagged_05 += std::abs(z) > 1.96;
    }
  }
  EXPECT_LE(flagged_001, 3);  // P(Poisson(0.4) > 3) < 0.001
  EXPECT_GE(flagged_05, 7);   // central 99.9 % of Binomial(400, 0.05): [7, 36]
  EXPECT_LE(flagged_05, 36);
}

}  // namespace
}  // namespace viewpipe::sim
