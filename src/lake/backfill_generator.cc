#include "lake/backfill_generator.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <string_view>

namespace viewpipe {
namespace {

uint64_t SplitMix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}
uint64_t Mix(uint64_t a, uint64_t b) { return SplitMix(a ^ SplitMix(b + 0x632be59bd9b4e019ULL)); }
uint64_t Fnv(std::string_view s) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (char c : s) h = (h ^ static_cast<uint8_t>(c)) * 0x100000001b3ULL;
  return h;
}

class Rng {
 public:
  explicit Rng(uint64_t seed) : s_(seed) {}
  uint64_t Next() { return SplitMix(s_++ * 0x9e3779b97f4a7c15ULL + 0x7f4a7c15); }
  double U() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }
  int Int(int n) { return static_cast<int>(U() * n); }
  bool Chance(double p) { return U() < p; }
  double Normal() {
    double u1 = std::max(U(), 1e-12), u2 = U();
    return std::sqrt(-2 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }
  double LogNormal(double median, double sigma) { return median * std::exp(sigma * Normal()); }

 private:
  uint64_t s_;
};

struct Country {
  const char* code;
  double weight;
  int utc_offset;  // hours
  std::array<const char*, 3> isps;
  std::array<double, 3> cdn;  // cdn-a, cdn-b, cdn-c
};
constexpr Country kCountries[] = {
    {"US", 30, -5, {"comcast", "att", "verizon"}, {0.5, 0.3, 0.2}},
    {"BR", 10, -3, {"vivo", "claro", "oi"}, {0.3, 0.2, 0.5}},
    {"GB", 8, 0, {"bt", "sky", "virgin"}, {0.4, 0.4, 0.2}},
    {"DE", 7, 1, {"telekom", "vodafone", "o2"}, {0.35, 0.45, 0.2}},
    {"IN", 8, 5, {"jio", "airtel", "bsnl"}, {0.2, 0.3, 0.5}},
    {"FR", 6, 1, {"orange", "free", "sfr"}, {0.4, 0.3, 0.3}},
    {"JP", 5, 9, {"ntt", "kddi", "softbank"}, {0.5, 0.4, 0.1}},
    {"MX", 5, -6, {"telmex", "izzi", "totalplay"}, {0.3, 0.3, 0.4}},
    {"ES", 4, 1, {"movistar", "orange", "vodafone"}, {0.4, 0.4, 0.2}},
    {"IT", 4, 1, {"tim", "fastweb", "vodafone"}, {0.4, 0.3, 0.3}},
    {"CA", 4, -5, {"rogers", "bell", "telus"}, {0.5, 0.3, 0.2}},
    {"SE", 2, 1, {"telia", "tele2", "bahnhof"}, {0.5, 0.4, 0.1}},
};
constexpr const char* kCdns[] = {"cdn-a", "cdn-b", "cdn-c"};

struct Device {
  DeviceType type;
  double weight;
  std::array<const char*, 3> oses;
  std::array<int32_t, 5> ladder;
  double startup_median_ms;
  const char* app_prefix;
};
constexpr Device kDevices[] = {
    {DeviceType::kTv, 45, {"tizen", "webos", "androidtv"}, {1500, 3000, 4500, 6000, 8000}, 1100, "tv"},
    {DeviceType::kMobile, 25, {"android", "ios", "android"}, {400, 800, 1500, 3000, 3000}, 800, "m"},
    {DeviceType::kWeb, 15, {"chrome", "safari", "firefox"}, {800, 1500, 3000, 4500, 6000}, 900, "w"},
    {DeviceType::kTablet, 8, {"ipados", "android", "fireos"}, {800, 1500, 3000, 4500, 4500}, 850, "t"},
    {DeviceType::kConsole, 5, {"ps5", "xbox", "switch"}, {3000, 4500, 6000, 8000, 8000}, 1000, "c"},
    {DeviceType::kOther, 2, {"linux", "roku", "chromecast"}, {800, 1500, 3000, 3000, 3000}, 1300, "o"},
};
// Local-time viewing by hour, evening peak.
constexpr double kDiurnal[24] = {3, 2, 1, 1, 1, 1, 2, 3, 3, 3, 3, 4,
                                 5, 5, 5, 5, 6, 7, 9, 11, 13, 13, 10, 6};
// Monday .. Sunday.
constexpr double kWeekly[7] = {0.92, 0.90, 0.93, 0.97, 1.08, 1.18, 1.12};
constexpr const char* kFatalStart[] = {"MANIFEST_5XX", "CDN_TIMEOUT", "DRM_LICENSE"};
constexpr const char* kFatalPlay[] = {"SEGMENT_5XX", "DECODER", "NETWORK_LOST"};
constexpr const char* kNonFatal[] = {"SEGMENT_RETRY", "SUBTITLES", "LICENSE_RENEWAL"};

struct Experiment {
  const char* id;
  double from, to;  // fraction of the backfill period it runs
  std::array<const char*, 3> variants;
  std::array<int, 3> split;  // percent
};
constexpr Experiment kExperiments[] = {
    {"exp-autoplay-preview", 0.20, 0.55, {"control", "treatment", nullptr}, {50, 50, 0}},
    {"exp-artwork-v2", 0.50, 1.01, {"control", "art_a", "art_b"}, {34, 33, 33}},
    {"exp-abr-aggressive", 0.70, 1.01, {"control", "treatment", nullptr}, {90, 10, 0}},
};

template <typename T, size_t N, typename W>
size_t Pick(const T (&items)[N], double u, W weight) {
  double total = 0;
  for (const T& it : items) total += weight(it);
  double x = u * total;
  for (size_t i = 0; i < N; ++i) {
    x -= weight(items[i]);
    if (x < 0) return i;
  }
  return N - 1;
}

void Uuid(uint64_t a, uint64_t b, char* out) {  // 36 chars, v4 layout
  uint64_t hi = SplitMix(a), lo = SplitMix(b ^ hi);
  hi = (hi & ~0xf000ULL) | 0x4000ULL;
  lo = (lo & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;
  std::snprintf(out, 37, "%08x-%04x-%04x-%04x-%012llx", static_cast<unsigned>(hi >> 32),
                static_cast<unsigned>((hi >> 16) & 0xffff), static_cast<unsigned>(hi & 0xffff),
                static_cast<unsigned>(lo >> 48),
                static_cast<unsigned long long>(lo & 0xffffffffffffULL));
}

}  // namespace

struct BackfillGenerator::Session {
  uint64_t key = 0;
  int64_t start_ms = 0, end_limit_ms = 0;
  std::string session_id, profile_id, title_id, country, cdn, os, app_version, isp, live;
  const Device* device = nullptr;
  std::vector<std::pair<std::string, std::string>> experiments;
  double duration_s = 0;
  double rebuffer_rate = 0.012;
  int cdn_index = 0;
};

BackfillGenerator::BackfillGenerator(const BackfillWorld& world) : world_(world) {
  const int days = std::max(1, world.end_day.days - world.first_day.days);
  double total = 0;
  for (int r = 1; r <= world.titles; ++r) {
    total += 1.0 / std::pow(r, 1.1);
    title_cdf_.push_back(total);
  }
  for (double& c : title_cdf_) c /= total;
  Rng rng(Mix(world.seed, 1));
  for (int r = 0; r < world.titles; ++r) {
    char id[16];
    std::snprintf(id, sizeof(id), "t%05d", static_cast<int>(Mix(world.seed, r) % 90000) + 10000);
    title_ids_.push_back(id);
    // A quarter of the catalog is released during the period.
    title_release_.push_back(rng.Chance(0.25) ? rng.Int(days) : -1);
  }
  total = 0;
  for (int r = 1; r <= world.profiles; ++r) {
    total += 1.0 / std::pow(r, 0.8);  // heavy viewers watch much more
    profile_cdf_.push_back(total);
  }
  for (double& c : profile_cdf_) c /= total;
}

uint32_t BackfillGenerator::SampleTitle(uint64_t u, EventDate date) const {
  const int day = date.days - world_.first_day.days;
  for (int attempt = 0; attempt < 4; ++attempt) {
    double x = static_cast<double>(SplitMix(u + attempt) >> 11) * 0x1.0p-53;
    auto idx = static_cast<uint32_t>(std::lower_bound(title_cdf_.begin(), title_cdf_.end(), x) -
                                     title_cdf_.begin());
    idx = std::min<uint32_t>(idx, static_cast<uint32_t>(title_ids_.size() - 1));
    if (title_release_[idx] <= day) return idx;
  }
  return 0;
}

int64_t BackfillGenerator::PlannedEvents(EventDate date) const {
  const int days = std::max(1, world_.end_day.days - world_.first_day.days);
  const double pos = static_cast<double>(date.days - world_.first_day.days) / days;
  double v = static_cast<double>(world_.events_per_day) * (0.7 + 0.6 * pos);
  v *= kWeekly[((date.days % 7) + 7 + 3) % 7];  // 1970-01-01 was a Thursday
  Rng rng(Mix(world_.seed, 0x5eed0000ULL + static_cast<uint64_t>(date.days)));
  v *= 1.0 + 0.05 * rng.Normal();
  if (Mix(world_.seed, static_cast<uint64_t>(date.days)) % 53 == 0) v *= 1.6;  // live-event spike
  return std::max<int64_t>(1, static_cast<int64_t>(v));
}

int64_t BackfillGenerator::GenerateDay(EventDate date,
                                       const std::function<void(const EventView&)>& sink) {
  const int days = std::max(1, world_.end_day.days - world_.first_day.days);
  const double pos = static_cast<double>(date.days - world_.first_day.days) / days;
  const bool spike = Mix(world_.seed, static_cast<uint64_t>(date.days)) % 53 == 0;
  const int64_t planned = PlannedEvents(date);
  const int version_minor = 10 + (date.days - world_.first_day.days) / 21;  // a release every 3 weeks
  Rng rng(Mix(world_.seed, static_cast<uint64_t>(date.days)));
  int64_t emitted = 0;
  counter_ = 0;
  for (uint64_t k = 0; emitted < planned; ++k) {
    Session s;
    s.key = Mix(Mix(world_.seed, static_cast<uint64_t>(date.days)), k);
    char buf[40];
    Uuid(s.key, 0x5e55, buf);
    s.session_id = buf;
    double u = rng.U();
    auto profile = static_cast<uint32_t>(
        std::lower_bound(profile_cdf_.begin(), profile_cdf_.end(), u) - profile_cdf_.begin());
    uint64_t ph = Mix(world_.seed, 0xbeef0000ULL + profile);
    std::snprintf(buf, sizeof(buf), "p-%08u", profile);
    s.profile_id = buf;
    const Country& c = kCountries[Pick(kCountries, (ph & 0xffff) / 65536.0,
                                       [](const Country& x) { return x.weight; })];
    s.country = c.code;
    s.isp = c.isps[(ph >> 16) % 3];
    size_t dev = Pick(kDevices, ((ph >> 20) & 0xffff) / 65536.0,
                      [](const Device& d) { return d.weight; });
    if (rng.Chance(0.2)) dev = Pick(kDevices, rng.U(), [](const Device& d) { return d.weight; });
    s.device = &kDevices[dev];
    s.os = s.device->oses[(ph >> 36) % 3];
    int minor = version_minor - (rng.Chance(0.7) ? 0 : rng.Chance(0.67) ? 1 : 2 + rng.Int(4));
    std::snprintf(buf, sizeof(buf), "%s-5.%d.%d", s.device->app_prefix, std::max(minor, 0),
                  static_cast<int>((ph >> 40) % 3));
    s.app_version = buf;
    double cu = rng.U() * (c.cdn[0] + c.cdn[1] + c.cdn[2]);
    s.cdn_index = cu < c.cdn[0] ? 0 : cu < c.cdn[0] + c.cdn[1] ? 1 : 2;
    s.cdn = kCdns[s.cdn_index];
    s.title_id = title_ids_[SampleTitle(rng.Next(), date)];
    if (spike && rng.Chance(0.3)) {
      s.live = "live-" + date.ToString();
      s.title_id = "t-live";
    }
    // Local evening peak, shifted to UTC; sessions end at midnight UTC at the latest.
    int local_hour = static_cast<int>(Pick(kDiurnal, rng.U(), [](double w) { return w; }));
    int utc_hour = ((local_hour - c.utc_offset) % 24 + 24) % 24;
    s.start_ms = date.StartMs() + utc_hour * kMsPerHour + static_cast<int64_t>(rng.U() * kMsPerHour);
    s.end_limit_ms = date.EndMs() - 1;
    s.duration_s = std::min(3 * 3600.0, rng.LogNormal(14 * 60, 1.0));
    for (const Experiment& x : kExperiments) {
      if (pos < x.from || pos >= x.to) continue;
      int bucket = static_cast<int>(Mix(ph, Fnv(x.id)) % 100);
      int v = 0, acc = x.split[0];
      while (bucket >= acc && v < 2 && x.variants[v + 1] != nullptr) acc += x.split[++v];
      s.experiments.emplace_back(x.id, x.variants[v]);
      if (std::string_view(x.id) == "exp-autoplay-preview" && v == 1) s.duration_s *= 1.1;
      if (std::string_view(x.id) == "exp-abr-aggressive" && v == 1) s.rebuffer_rate = 0.008;
    }
    size_t before = counter_;
    EmitSession(s, sink);
    emitted += static_cast<int64_t>(counter_ - before);
  }
  return emitted;
}

void BackfillGenerator::EmitSession(const Session& s,
                                    const std::function<void(const EventView&)>& sink) {
  Rng rng(s.key);
  uint32_t seq = 0;
  char id[40];
  EventView e;
  e.session_id = s.session_id;
  e.profile_id = s.profile_id;
  e.title_id = s.title_id;
  e.device_type = s.device->type;
  e.country = s.country;
  e.cdn = s.cdn;
  e.os = s.os;
  e.app_version = s.app_version;
  e.isp = s.isp;
  e.live_event_id = s.live;
  for (const auto& [k, v] : s.experiments) e.experiments.emplace_back(k, v);
  bool ended = false;
  auto emit = [&](EventType type, int64_t ts) {
    if (ended || ts > s.end_limit_ms) {
      ended = true;
      return false;
    }
    Uuid(s.key, ++seq, id);
    e.event_id = std::string_view(id, 36);
    e.type = type;
    e.ts_ms = ts;
    double r = rng.U();
    int64_t delay = r < 0.95 ? 50 + rng.Int(750) : r < 0.999 ? 1000 + rng.Int(9000)
                                                              : 3600000 + rng.Int(5 * 3600000);
    e.received_at_ms = ts + delay;
    sink(e);
    ++counter_;
    e.startup_ms.reset();
    e.rebuffer_ms.reset();
    e.error_code = {};
    e.fatal.reset();
    return true;
  };
  int64_t t = s.start_ms;
  e.position_ms = 0;
  e.bitrate_kbps.reset();
  emit(EventType::kAttempt, t);
  double outcome = rng.U();
  int startup = static_cast<int>(rng.LogNormal(s.device->startup_median_ms *
                                                   (s.cdn_index == 2 ? 1.3 : 1.0), 0.5));
  if (outcome < 0.008) {  // video start failure
    e.error_code = kFatalStart[rng.Int(3)];
    e.fatal = true;
    emit(EventType::kError, t + startup);
    return;
  }
  if (outcome < 0.02) {  // exit before video start
    emit(EventType::kStop, t + 2000 + rng.Int(6000));
    return;
  }
  t += startup;
  int level = std::min(2, static_cast<int>(s.device->ladder.size()) - 1);
  e.bitrate_kbps = s.device->ladder[level];
  e.startup_ms = startup;
  emit(EventType::kPlayStart, t);
  const int64_t end = t + static_cast<int64_t>(s.duration_s * 1000);
  int64_t position = 0;
  bool paused = false;
  while (t + 10000 < end && !ended) {
    int64_t next = t + 10000;
    double r = rng.U();
    if (!paused && r < s.rebuffer_rate) {
      int64_t at = t + rng.Int(8000);
      int stall = static_cast<int>(rng.LogNormal(1200, 0.8));
      emit(EventType::kRebufferStart, at);
      e.rebuffer_ms = stall;
      emit(EventType::kRebufferEnd, at + stall);
      next += stall;
    } else if (r < s.rebuffer_rate + 0.02) {
      level = std::clamp(level + (rng.Chance(0.6) ? 1 : -1), 0, 4);
      e.bitrate_kbps = s.device->ladder[level];
      emit(EventType::kBitrateChange, t + rng.Int(9000));
    } else if (r < s.rebuffer_rate + 0.027) {
      position = std::max<int64_t>(0, position + (rng.Chance(0.7) ? 1 : -1) * rng.Int(600000));
      e.position_ms = position;
      emit(EventType::kSeek, t + rng.Int(9000));
    } else if (r < s.rebuffer_rate + 0.032) {
      paused = !paused;
      emit(paused ? EventType::kPause : EventType::kResume, t + rng.Int(9000));
    } else if (r < s.rebuffer_rate + 0.033) {
      e.error_code = kNonFatal[rng.Int(3)];
      e.fatal = false;
      emit(EventType::kError, t + rng.Int(9000));
    } else if (r < s.rebuffer_rate + 0.0335) {  // playback failure
      e.error_code = kFatalPlay[rng.Int(3)];
      e.fatal = true;
      emit(EventType::kError, t + rng.Int(9000));
      return;
    }
    t = next;
    if (!paused) position += 10000;
    e.position_ms = position;
    emit(EventType::kHeartbeat, t);
  }
  e.position_ms = position;
  emit(EventType::kStop, std::max(t + 1, end));
}

}  // namespace viewpipe
