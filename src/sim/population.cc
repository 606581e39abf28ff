#include "sim/population.h"

#include <array>
#include <cmath>
#include <cstdio>

namespace viewpipe::sim {
namespace {

enum Region : uint8_t { kAmericas, kEurope, kAsiaPacific };

struct CountryRow {
  std::string_view code;
  double weight;
  Region region;
  std::array<std::string_view, 5> isps;  // empty-terminated
};

constexpr std::array<CountryRow, 17> kCountries = {{
    {"US", 28, kAmericas, {"comcast", "charter", "verizon", "att", "cox"}},
    {"BR", 8, kAmericas, {"vivo", "claro-br", "oi"}},
    {"MX", 5, kAmericas, {"telmex", "izzi", "totalplay"}},
    {"CA", 4, kAmericas, {"rogers", "bell", "telus"}},
    {"AR", 2, kAmericas, {"telecom-ar", "claro-ar"}},
    {"GB", 7, kEurope, {"bt", "sky-broadband", "virgin-media"}},
    {"DE", 7, kEurope, {"telekom", "vodafone-de", "o2-de"}},
    {"FR", 6, kEurope, {"orange", "free", "sfr"}},
    {"ES", 4, kEurope, {"movistar", "vodafone-es", "digi-es"}},
    {"IT", 4, kEurope, {"tim", "fastweb", "wind-tre"}},
    {"NL", 2, kEurope, {"kpn", "ziggo"}},
    {"SE", 2, kEurope, {"telia", "tele2"}},
    {"PL", 2, kEurope, {"orange-pl", "play"}},
    {"IN", 6, kAsiaPacific, {"jio", "airtel", "act"}},
    {"JP", 4, kAsiaPacific, {"ntt", "kddi", "softbank"}},
    {"KR", 3, kAsiaPacific, {"kt", "sk-broadband", "lg-uplus"}},
    {"AU", 3, kAsiaPacific, {"telstra", "optus", "tpg"}},
}};

constexpr std::array<std::string_view, 4> kCdns = {"cdn-a", "cdn-b", "cdn-c", "cdn-d"};
// CDN mix per region, in kCdns order.
constexpr std::array<std::array<double, 4>, 3> kCdnMix = {{
    {45, 30, 10, 15},  // Americas
    {25, 25, 40, 10},  // Europe
    {30, 45, 5, 20},   // Asia-Pacific
}};

// In DeviceType order (tv, mobile, tablet, web, console, other).
constexpr std::array<std::string_view, 6> kDevices = {"tv",  "mobile",  "tablet",
                                                      "web", "console", "other"};
constexpr std::array<double, 6> kDeviceWeights = {45, 25, 8, 12, 7, 3};
constexpr std::array<std::string_view, 16> kOses = {
    "tizen",  "webos",  "androidtv", "roku", "tvos",        "android", "ios",   "ipados",
    "chrome", "safari", "firefox",   "edge", "playstation", "xbox",    "linux", "fireos"};
// Per device: the OS indexes it runs.
const std::array<std::vector<uint8_t>, 6> kDeviceOses = {
    {{0, 1, 2, 3, 4}, {5, 6}, {7, 5}, {8, 9, 10, 11}, {12, 13}, {14, 15}}};
constexpr std::array<std::string_view, 4> kAppVersions = {"6.4.1", "6.3.2", "6.2.0", "5.9.8"};
constexpr std::array<double, 4> kAppWeights = {55, 30, 12, 3};
constexpr std::array<std::string_view, kErrCount> kErrors = {
    "MANIFEST_5XX",     "CDN_CONNECT_TIMEOUT",  "DRM_LICENSE_FAILED", "NO_PLAYABLE_RENDITION",
    "SEGMENT_5XX",      "DECODER_ERROR",        "NETWORK_LOST",       "SEGMENT_RETRY",
    "SUBTITLES_FAILED", "LICENSE_RENEWAL_RETRY"};

template <size_t N>
size_t PickWeighted(const std::array<double, N>& weights, Rng& rng) {
  double total = 0;
  for (double w : weights) total += w;
  double x = rng.Uniform() * total;
  for (size_t i = 0; i < N; ++i) {
    if (x < weights[i]) return i;
    x -= weights[i];
  }
  return N - 1;
}

size_t IspCount(const CountryRow& c) {
  size_t n = 0;
  while (n < c.isps.size() && !c.isps[n].empty()) ++n;
  return n;
}

// Index of each country's first ISP in the flattened WorldTables::isps.
const std::array<uint8_t, kCountries.size()>& IspOffsets() {
  static const auto offsets = [] {
    std::array<uint8_t, kCountries.size()> o{};
    size_t next = 0;
    for (size_t i = 0; i < kCountries.size(); ++i) {
      o[i] = static_cast<uint8_t>(next);
      next += IspCount(kCountries[i]);
    }
    return o;
  }();
  return offsets;
}

}  // namespace

const WorldTables& World() {
  static const WorldTables w = [] {
    WorldTables t;
    for (const CountryRow& c : kCountries) {
      t.countries.push_back(c.code);
      for (size_t i = 0; i < IspCount(c); ++i) t.isps.push_back(c.isps[i]);
    }
    t.cdns.assign(kCdns.begin(), kCdns.end());
    t.devices.assign(kDevices.begin(), kDevices.end());
    t.oses.assign(kOses.begin(), kOses.end());
    t.app_versions.assign(kAppVersions.begin(), kAppVersions.end());
    t.error_codes.assign(kErrors.begin(), kErrors.end());
    return t;
  }();
  return w;
}

Population::Population(uint64_t seed, int64_t profiles, std::vector<ExperimentSpec> experiments)
    : seed_(seed), profiles_(profiles), experiments_(std::move(experiments)) {
  VP_CHECK(profiles_ > 0 && profiles_ <= UINT32_MAX, "profile count out of range");
  VP_CHECK(experiments_.size() <= 16, "at most 16 experiments");
  for (const ExperimentSpec& e : experiments_) {
    double total = 0;
    for (double w : e.split) total += w;
    std::vector<uint32_t> bounds;
    double cumulative = 0;
    for (double w : e.split) {
      cumulative += w;
      bounds.push_back(total > 0 ? static_cast<uint32_t>(std::lround(cumulative / total * 10000))
                                 : 10000);
    }
    if (!bounds.empty()) bounds.back() = 10000;
    bucket_bounds_.push_back(std::move(bounds));
    std::vector<double> watch(e.variants.size(), 1.0), startup(e.variants.size(), 1.0);
    for (const VariantEffect& effect : e.effects) {
      for (size_t v = 0; v < e.variants.size(); ++v) {
        if (e.variants[v] != effect.variant) continue;
        watch[v] = 1.0 + effect.watch_time;
        startup[v] = 1.0 + effect.startup;
      }
    }
    watch_factor_.push_back(std::move(watch));
    startup_factor_.push_back(std::move(startup));
  }
}

Profile Population::ProfileAt(uint32_t index) const {
  Rng rng(Hash64(seed_, 0x50524F46494C45ULL, index));
  Profile p;
  p.index = index;
  std::array<double, kCountries.size()> weights;
  for (size_t i = 0; i < kCountries.size(); ++i) weights[i] = kCountries[i].weight;
  p.country = static_cast<uint8_t>(PickWeighted(weights, rng));
  p.device = static_cast<uint8_t>(PickWeighted(kDeviceWeights, rng));
  const CountryRow& c = kCountries[p.country];
  p.isp = static_cast<uint8_t>(IspOffsets()[p.country] + rng.Below(IspCount(c)));
  p.os = SampleOs(p.device, rng);
  p.app_version = static_cast<uint8_t>(PickWeighted(kAppWeights, rng));
  return p;
}

uint32_t Population::SampleProfile(Rng& rng) const {
  // u^1.6: the top 1 % of profiles start about 6 % of the sessions.
  double u = std::pow(rng.Uniform(), 1.6);
  return static_cast<uint32_t>(
      std::min<int64_t>(profiles_ - 1, static_cast<int64_t>(u * profiles_)));
}

uint8_t Population::SampleDevice(const Profile& p, Rng& rng) const {
  if (rng.Chance(0.8)) return p.device;
  return static_cast<uint8_t>(PickWeighted(kDeviceWeights, rng));
}

uint8_t Population::SampleOs(uint8_t device, Rng& rng) const {
  const std::vector<uint8_t>& oses = kDeviceOses[device];
  return oses[rng.Below(oses.size())];
}

uint8_t Population::SampleCdn(uint8_t country, Rng& rng) const {
  return static_cast<uint8_t>(PickWeighted(kCdnMix[kCountries[country].region], rng));
}

const std::vector<int32_t>& Population::Ladder(uint8_t device) {
  static const std::array<std::vector<int32_t>, 6> kLadders = {{
      {1500, 3000, 4500, 6000, 8000, 16000},
      {400, 800, 1500, 3000},
      {800, 1500, 3000, 4500},
      {800, 1500, 3000, 4500, 6000},
      {1500, 3000, 4500, 6000, 8000, 16000},
      {800, 1500, 3000},
  }};
  return kLadders[device];
}

std::string Population::ProfileId(uint32_t index) {
  char buf[24];
  int n = std::snprintf(buf, sizeof(buf), "p-%08u", index);
  return std::string(buf, static_cast<size_t>(n));
}

uint64_t Population::Variants(uint32_t profile_index) const {
  std::string key = ProfileId(profile_index);
  key += ':';
  const size_t prefix = key.size();
  uint64_t packed = 0;
  for (size_t e = 0; e < experiments_.size(); ++e) {
    key.resize(prefix);
    key += experiments_[e].id;
    const uint32_t bucket = static_cast<uint32_t>(Fmix64(Fnv1a64(key)) % 10000);
    const std::vector<uint32_t>& bounds = bucket_bounds_[e];
    uint64_t v = 0;
    while (v + 1 < bounds.size() && bucket >= bounds[v]) ++v;
    if (v > 0 && experiments_[e].assignment_bias > 0) {  // the injected bias (scenario.h)
      const double u = static_cast<double>(Fmix64(Fnv1a64(key + ":bias")) % 10000) / 10000.0;
      if (u < experiments_[e].assignment_bias) v = 0;
    }
    packed |= v << (4 * e);
  }
  return packed;
}

double Population::WatchTimeFactor(uint64_t variants) const {
  double f = 1.0;
  for (size_t e = 0; e < experiments_.size(); ++e)
    f *= watch_factor_[e][(variants >> (4 * e)) & 0xF];
  return f;
}

double Population::StartupFactor(uint64_t variants) const {
  double f = 1.0;
  for (size_t e = 0; e < experiments_.size(); ++e) {
    f *= startup_factor_[e][(variants >> (4 * e)) & 0xF];
  }
  return f;
}

int Population::FindCountry(std::string_view code) {
  for (size_t i = 0; i < kCountries.size(); ++i) {
    if (kCountries[i].code == code) return static_cast<int>(i);
  }
  return -1;
}

int Population::FindCdn(std::string_view name) {
  for (size_t i = 0; i < kCdns.size(); ++i) {
    if (kCdns[i] == name) return static_cast<int>(i);
  }
  return -1;
}

}  // namespace viewpipe::sim
