#include "sim/scenario.h"

#include <toml++/toml.h>

#include <cctype>
#include <charconv>
#include <fstream>
#include <initializer_list>
#include <sstream>

namespace viewpipe::sim {
namespace {

constexpr std::string_view kDemoToml =
    R"toml(# The built-in timeline of `viewpipe demo` (scenarios/demo.toml is the same
# text; `viewpipe sim --scenario scenarios/demo.toml` replays it). Times are
# offsets from the simulated start. The format is in docs/simulator.md.
name = "demo"
malformed_fraction = 0.001

[traffic]
viewers = 3000          # steady concurrent viewers (--viewers overrides)
daily_amplitude = 0.15  # a gentle daily wave...
day_length = "2h"       # ...compressed: a whole day every 2 hours
peak_hour = 20
titles = 800

[[experiment]]
id = "exp-autoplay"
variants = ["control", "treatment"]
split = [50, 50]
effects = { treatment = { watch_time = 0.05 } }

[[experiment]]
id = "exp-row-order"
variants = ["a", "b", "c"]
split = [34, 33, 33]

# A live final: 10x the viewers within a minute, from minute 1 to 2, for 6 minutes.
[[live_event]]
id = "live-cup-final"
at = "1m"
ramp = "1m"
duration = "6m"
multiplier = 10

# cdn-b fails starts and stalls playback everywhere from minute 3 for 2 minutes.
[[cdn_outage]]
cdn = "cdn-b"
at = "3m"
duration = "2m"
kind = "start_failures"
severity = 0.5

[[cdn_outage]]
cdn = "cdn-b"
at = "3m"
duration = "2m"
kind = "rebuffering"
severity = 0.6

# 3 % of the sessions go offline for 1-4 minutes during minutes 5-6 and send late.
[[late_delivery]]
at = "5m"
duration = "1m"
fraction = 0.03
offline_min = "1m"
offline_max = "4m"

# 1 % of the batches are sent twice (a client that missed the answer).
[[duplicates]]
at = "0s"
fraction = 0.01
)toml";

// Reads the values of one TOML table, remembering the first problem.
class TableReader {
 public:
  TableReader(const toml::table& table, std::string where, Status* status)
      : table_(table), where_(std::move(where)), status_(status) {}

  // Fails on keys outside `known` (typos should not pass silently).
  void AllowOnly(std::initializer_list<std::string_view> known) {
    for (auto&& [key, node] : table_) {
      bool ok = false;
      for (std::string_view k : known) ok = ok || key.str() == k;
      if (!ok) Fail(key.str(), "unknown key", node);
    }
  }
  void Int(std::string_view key, int64_t* out, int64_t min, int64_t max) {
    const toml::node* n = table_.get(key);
    if (n == nullptr) return;
    auto v = n->value<int64_t>();
    if (!v || *v < min || *v > max) {
      return Fail(
          key, "must be an integer in [" + std::to_string(min) + ", " + std::to_string(max) + "]",
          *n);
    }
    *out = *v;
  }
  void Double(std::string_view key, double* out, double min, double max) {
    const toml::node* n = table_.get(key);
    if (n == nullptr) return;
    auto v = n->value<double>();  // integers convert
    if (!v || !(*v >= min && *v <= max)) {
      std::ostringstream range;
      range << "must be a number in [" << min << ", " << max << "]";
      return Fail(key, range.str(), *n);
    }
    *out = *v;
  }
  void String(std::string_view key, std::string* out) {
    const toml::node* n = table_.get(key);
    if (n == nullptr) return;
    auto v = n->value<std::string>();
    if (!v) return Fail(key, "must be a string", *n);
    *out = *v;
  }
  // A duration string ("90s", "10m") or a number of seconds.
  void Duration(std::string_view key, int64_t* out) {
    const toml::node* n = table_.get(key);
    if (n == nullptr) return;
    Result<int64_t> ms = Status::InvalidArgument("");
    if (auto s = n->value<std::string>()) {
      ms = ParseDurationMs(*s);
    } else if (auto d = n->value<double>()) {
      if (*d >= 0 && *d < 1e12) ms = static_cast<int64_t>(*d * 1000);
    }
    if (!ms.ok()) return Fail(key, "must be a duration like \"90s\", \"10m\" or \"1h30m\"", *n);
    *out = *ms;
  }
  const toml::node* Get(std::string_view key) const { return table_.get(key); }
  void Fail(std::string_view key, const std::string& why, const toml::node& n) {
    if (!status_->ok()) return;
    *status_ = Status::InvalidArgument(where_ + "." + std::string(key) + " (line " +
                                       std::to_string(n.source().begin.line) + "): " + why);
  }
  const std::string& where() const { return where_; }

 private:
  const toml::table& table_;
  std::string where_;
  Status* status_;
};

void ReadTraffic(const toml::table& t, TrafficSpec* out, Status* st) {
  TableReader r(t, "traffic", st);
  r.AllowOnly({"viewers", "daily_amplitude", "day_length", "peak_hour", "titles", "profiles"});
  r.Int("viewers", &out->viewers, 0, 100'000'000);
  r.Double("daily_amplitude", &out->daily_amplitude, 0.0, 0.95);
  r.Duration("day_length", &out->day_length_ms);
  if (out->day_length_ms < 60000) r.Fail("day_length", "must be at least 1m", *t.get("day_length"));
  r.Double("peak_hour", &out->peak_hour, 0.0, 24.0);
  int64_t titles = out->titles;
  r.Int("titles", &titles, 10, 1'000'000);
  out->titles = static_cast<int>(titles);
  r.Int("profiles", &out->profiles, 0, 1'000'000'000);
}

void ReadStringArray(TableReader& r, std::string_view key, std::vector<std::string>* out) {
  const toml::node* n = r.Get(key);
  if (n == nullptr) return;
  const toml::array* a = n->as_array();
  if (a == nullptr) return r.Fail(key, "must be an array of strings", *n);
  out->clear();
  for (const toml::node& el : *a) {
    auto s = el.value<std::string>();
    if (!s || s->empty() || s->size() > 64)
      return r.Fail(key, "must hold strings of 1-64 chars", el);
    out->push_back(*s);
  }
}

ExperimentSpec ReadExperiment(const toml::table& t, const std::string& where, Status* st) {
  ExperimentSpec e;
  TableReader r(t, where, st);
  r.AllowOnly({"id", "variants", "split", "effects", "assignment_bias"});
  r.String("id", &e.id);
  if (const toml::node* n = r.Get("assignment_bias")) {
    auto b = n->value<double>();
    if (!b || *b < 0 || *b > 1) r.Fail("assignment_bias", "must be a number in [0, 1]", *n);
    e.assignment_bias = b.value_or(0);
  }
  ReadStringArray(r, "variants", &e.variants);
  if (const toml::node* n = r.Get("split")) {
    const toml::array* a = n->as_array();
    if (a == nullptr) r.Fail("split", "must be an array of numbers", *n);
    for (size_t i = 0; a != nullptr && i < a->size(); ++i) {
      auto d = (*a)[i].value<double>();
      if (!d || *d < 0) r.Fail("split", "must hold numbers >= 0", (*a)[i]);
      e.split.push_back(d.value_or(0));
    }
  }
  if (e.id.empty() || e.id.size() > 64) r.Fail("id", "is required (1-64 chars)", t);
  if (e.variants.empty() || e.variants.size() > 16) r.Fail("variants", "needs 1-16 variants", t);
  if (e.split.empty()) e.split.assign(e.variants.size(), 1.0);
  if (e.split.size() != e.variants.size()) r.Fail("split", "needs one weight per variant", t);
  if (const toml::node* n = r.Get("effects")) {
    const toml::table* effects = n->as_table();
    if (effects == nullptr) {
      r.Fail("effects", "must be a table", *n);
      return e;
    }
    for (auto&& [variant, node] : *effects) {
      VariantEffect effect{std::string(variant.str())};
      const toml::table* et = node.as_table();
      if (et == nullptr) {
        r.Fail("effects", "each variant's effects must be a table", node);
        continue;
      }
      TableReader er(*et, where + ".effects." + effect.variant, st);
      er.AllowOnly({"watch_time", "startup"});
      er.Double("watch_time", &effect.watch_time, -0.9, 10.0);
      er.Double("startup", &effect.startup, -0.9, 10.0);
      bool known = false;
      for (const std::string& v : e.variants) known = known || v == effect.variant;
      if (!known) r.Fail("effects", "names a variant that is not in variants", node);
      e.effects.push_back(effect);
    }
  }
  return e;
}

LiveEventSpec ReadLiveEvent(const toml::table& t, const std::string& where, Status* st) {
  LiveEventSpec e;
  TableReader r(t, where, st);
  r.AllowOnly({"id", "title_id", "at", "ramp", "duration", "multiplier"});
  r.String("id", &e.id);
  r.String("title_id", &e.title_id);
  r.Duration("at", &e.at_ms);
  r.Duration("ramp", &e.ramp_ms);
  r.Duration("duration", &e.duration_ms);
  r.Double("multiplier", &e.multiplier, 1.0, 1000.0);
  if (e.id.empty() || e.id.size() > 64) r.Fail("id", "is required (1-64 chars)", t);
  return e;
}

CdnOutageSpec ReadOutage(const toml::table& t, const std::string& where, Status* st) {
  CdnOutageSpec o;
  TableReader r(t, where, st);
  r.AllowOnly({"cdn", "country", "at", "duration", "kind", "severity"});
  r.String("cdn", &o.cdn);
  r.String("country", &o.country);
  r.Duration("at", &o.at_ms);
  r.Duration("duration", &o.duration_ms);
  std::string kind = "start_failures";
  r.String("kind", &kind);
  if (kind == "start_failures") {
    o.kind = OutageKind::kStartFailures;
  } else if (kind == "rebuffering") {
    o.kind = OutageKind::kRebuffering;
  } else {
    r.Fail("kind", "must be \"start_failures\" or \"rebuffering\"", *t.get("kind"));
  }
  r.Double("severity", &o.severity, 0.0, 1.0);
  if (o.cdn.empty()) r.Fail("cdn", "is required", t);
  return o;
}

LateDeliverySpec ReadLate(const toml::table& t, const std::string& where, Status* st) {
  LateDeliverySpec l;
  TableReader r(t, where, st);
  r.AllowOnly({"at", "duration", "fraction", "offline_min", "offline_max"});
  r.Duration("at", &l.at_ms);
  r.Duration("duration", &l.duration_ms);
  r.Double("fraction", &l.fraction, 0.0, 1.0);
  r.Duration("offline_min", &l.offline_min_ms);
  r.Duration("offline_max", &l.offline_max_ms);
  if (l.offline_max_ms < l.offline_min_ms) r.Fail("offline_max", "must be >= offline_min", t);
  return l;
}

DuplicatesSpec ReadDuplicates(const toml::table& t, const std::string& where, Status* st) {
  DuplicatesSpec d;
  TableReader r(t, where, st);
  r.AllowOnly({"at", "duration", "fraction"});
  r.Duration("at", &d.at_ms);
  r.Duration("duration", &d.duration_ms);
  r.Double("fraction", &d.fraction, 0.0, 1.0);
  return d;
}

// Calls read(table, "key[i]") for each table of the array `key`.
template <typename T, typename F>
void ReadArray(const toml::table& root, std::string_view key, std::vector<T>* out, Status* st,
               F read) {
  const toml::node* n = root.get(key);
  if (n == nullptr) return;
  const toml::array* a = n->as_array();
  if (a == nullptr) {
    if (st->ok())
      *st = Status::InvalidArgument(std::string(key) + ": must be an array of tables ([[" +
                                    std::string(key) + "]])");
    return;
  }
  out->clear();
  for (size_t i = 0; i < a->size(); ++i) {
    const toml::table* t = (*a)[i].as_table();
    std::string where = std::string(key) + "[" + std::to_string(i) + "]";
    if (t == nullptr) {
      if (st->ok()) *st = Status::InvalidArgument(where + ": must be a table");
      return;
    }
    out->push_back(read(*t, where, st));
  }
}

}  // namespace

std::string_view OutageKindName(OutageKind kind) {
  return kind == OutageKind::kStartFailures ? "start_failures" : "rebuffering";
}

Scenario DefaultScenario() {
  Scenario s;
  s.experiments.push_back(
      {"exp-autoplay", {"control", "treatment"}, {50, 50}, {{"treatment", 0.05, 0.0}}});
  s.experiments.push_back({"exp-row-order", {"a", "b", "c"}, {34, 33, 33}, {}});
  return s;
}

std::string_view DemoScenarioToml() { return kDemoToml; }

Result<Scenario> ParseScenarioToml(std::string_view text, std::string_view source_name) {
  toml::table root;
  try {
    root = toml::parse(text, source_name);
  } catch (const toml::parse_error& e) {
    return Status::InvalidArgument(std::string(source_name) + ":" +
                                   std::to_string(e.source().begin.line) + ": " +
                                   std::string(e.description()));
  }
  Scenario s = DefaultScenario();
  Status st;
  TableReader r(root, std::string(source_name), &st);
  r.AllowOnly({"name", "malformed_fraction", "traffic", "experiment", "live_event", "cdn_outage",
               "late_delivery", "duplicates"});
  r.String("name", &s.name);
  r.Double("malformed_fraction", &s.malformed_fraction, 0.0, 0.5);
  if (const toml::node* n = root.get("traffic")) {
    if (const toml::table* t = n->as_table()) {
      ReadTraffic(*t, &s.traffic, &st);
    } else {
      r.Fail("traffic", "must be a table", *n);
    }
  }
  ReadArray(root, "experiment", &s.experiments, &st, ReadExperiment);
  ReadArray(root, "live_event", &s.live_events, &st, ReadLiveEvent);
  ReadArray(root, "cdn_outage", &s.cdn_outages, &st, ReadOutage);
  ReadArray(root, "late_delivery", &s.late_deliveries, &st, ReadLate);
  ReadArray(root, "duplicates", &s.duplicates, &st, ReadDuplicates);
  if (s.experiments.size() > 16) st = Status::InvalidArgument("at most 16 experiments");
  if (!st.ok()) return st;
  return s;
}

Result<Scenario> LoadScenarioFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound("cannot read scenario file " + path);
  std::ostringstream text;
  text << in.rdbuf();
  return ParseScenarioToml(text.str(), path);
}

Result<int64_t> ParseDurationMs(std::string_view text) {
  auto bad = [&] {
    return Status::InvalidArgument(
        "bad duration '" + std::string(text) +
        "' (examples: 90s, 10m, 1h30m, 250ms; a bare number is seconds)");
  };
  if (text.empty()) return bad();
  double total = 0;
  size_t i = 0;
  while (i < text.size()) {
    double value = 0;
    auto [end, ec] = std::from_chars(text.data() + i, text.data() + text.size(), value);
    if (ec != std::errc() || value < 0) return bad();
    i = static_cast<size_t>(end - text.data());
    size_t unit_end = i;
    while (unit_end < text.size() && std::isalpha(static_cast<unsigned char>(text[unit_end]))) {
      ++unit_end;
    }
    std::string_view unit = text.substr(i, unit_end - i);
    double scale = 0;
    if (unit.empty()) {
      if (i != text.size() || total != 0) return bad();  // bare number: seconds, alone
      scale = 1000;
    } else if (unit == "ms") {
      scale = 1;
    } else if (unit == "s") {
      scale = 1000;
    } else if (unit == "m" || unit == "min") {
      scale = 60'000;
    } else if (unit == "h") {
      scale = 3'600'000;
    } else if (unit == "d") {
      scale = 86'400'000;
    } else {
      return bad();
    }
    total += value * scale;
    i = unit_end;
  }
  if (total > 1e15) return bad();
  return static_cast<int64_t>(total + 0.5);
}

}  // namespace viewpipe::sim
