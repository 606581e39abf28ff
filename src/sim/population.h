#pragma once
// Population: who watches. Fixed world tables (countries with their ISPs and
// CDN mix, device types with their OSes and bitrate ladders, app versions,
// error codes) and the subscriber profiles, each a pure function of
// (seed, profile index), so a million profiles cost no memory.
// Thread compatible (const after construction).

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "event/event.h"
#include "sim/random.h"
#include "sim/scenario.h"

namespace viewpipe::sim {

struct WorldTables {
  std::vector<std::string_view> countries;  // ISO codes, index = country key
  std::vector<std::string_view> cdns;
  std::vector<std::string_view> isps;     // all countries' ISPs, flattened
  std::vector<std::string_view> devices;  // events.md names, index = DeviceType - 1
  std::vector<std::string_view> oses;
  std::vector<std::string_view> app_versions;
  std::vector<std::string_view> error_codes;
};
const WorldTables& World();

// Indexes into WorldTables::error_codes.
enum ErrorCode : uint8_t {
  kErrManifest5xx,
  kErrCdnTimeout,
  kErrDrmLicense,
  kErrNoRendition,  // fatal at start
  kErrSegment5xx,
  kErrDecoder,
  kErrNetworkLost,  // fatal in playback
  kErrSegmentRetry,
  kErrSubtitles,
  kErrLicenseRenewal,  // non-fatal
  kErrCount,
};

struct Profile {
  uint32_t index = 0;
  uint8_t country = 0;
  uint8_t device = 0;  // primary device, DeviceType - 1
  uint8_t isp = 0;
  uint8_t os = 0;
  uint8_t app_version = 0;
};

class Population {
 public:
  // profiles: how many subscriber profiles exist (> 0).
  Population(uint64_t seed, int64_t profiles, std::vector<ExperimentSpec> experiments);

  int64_t profile_count() const { return profiles_; }
  Profile ProfileAt(uint32_t index) const;
  // A profile, heavy viewers more often than light ones.
  uint32_t SampleProfile(Rng& rng) const;
  // The device of one session: mostly the profile's primary one.
  uint8_t SampleDevice(const Profile& p, Rng& rng) const;
  uint8_t SampleOs(uint8_t device, Rng& rng) const;
  // CDN steering: each country has its own CDN mix.
  uint8_t SampleCdn(uint8_t country, Rng& rng) const;
  // The bitrate ladder (kbps, ascending) of a device type.
  static const std::vector<int32_t>& Ladder(uint8_t device);

  // "p-00001234".
  static std::string ProfileId(uint32_t index);
  // Variant index of each experiment for a profile, 4 bits per experiment
  // (experiment i in bits 4i..4i+3). variant = the split bucket of
  // Fnv1a64(profile_id + ":" + exp_id) % 10000.
  uint64_t Variants(uint32_t profile_index) const;
  // Products of the variants' true effects (1.0 when none).
  double WatchTimeFactor(uint64_t variants) const;
  double StartupFactor(uint64_t variants) const;
  const std::vector<ExperimentSpec>& experiments() const { return experiments_; }

  // Index of a country or CDN by name, or -1.
  static int FindCountry(std::string_view code);
  static int FindCdn(std::string_view name);

 private:
  uint64_t seed_;
  int64_t profiles_;
  std::vector<ExperimentSpec> experiments_;
  std::vector<std::vector<uint32_t>> bucket_bounds_;  // per experiment: cumulative split x 10000
  std::vector<std::vector<double>> watch_factor_;     // per experiment, per variant
  std::vector<std::vector<double>> startup_factor_;
};

}  // namespace viewpipe::sim
