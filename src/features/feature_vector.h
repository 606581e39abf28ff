#pragma once
// The feature vectors: a profile's or a title's state (feature_state.h)
// evaluated as of a time T (ms, event time). Windows are UTC-day buckets for
// profiles and 5-minute / hour buckets for titles; exact semantics in
// docs/features.md. The same functions serve the online API and the offline
// Parquet and training outputs.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "features/feature_state.h"

namespace viewpipe::features {

struct RecentTitleFeature {
  std::string title_id;
  int64_t last_ts = 0;
  std::optional<int64_t> position_ms;
};

struct ProfileFeatures {
  int64_t as_of = 0;
  std::optional<int64_t> last_active_ms;
  std::vector<RecentTitleFeature> recent_titles;    // newest first
  std::map<std::string, int64_t> watch_seconds_7d;  // genre -> seconds (non-zero only)
  std::map<std::string, int64_t> watch_seconds_30d;
  int64_t titles_completed_30d = 0;
  int64_t sessions_7d = 0;
  std::optional<std::string> preferred_device;  // most watched over 30 days
  int64_t updated_at = 0;
};

struct TitleFeatures {
  int64_t as_of = 0;
  int64_t concurrent_viewers = 0;
  int64_t plays_1h = 0;
  int64_t plays_24h = 0;
  double trending_score = 0;
  std::optional<double> avg_completion;  // 0..1
  int64_t updated_at = 0;
};

ProfileFeatures EvaluateProfile(const ProfileState& s, int64_t as_of);
// The end of the time range over which EvaluateProfile(s, T) stays what it
// is at as_of (but for its as_of field): for every T in [as_of, the result)
// the profile's features are the same. The next UTC midnight (the windows
// move) or the first event time after as_of (an event that counts from
// then on), whichever comes first. The lookup cache (lookup_cache.h) relies
// on it: change it together with EvaluateProfile.
int64_t ProfileValidUntil(const ProfileState& s, int64_t as_of);
TitleFeatures EvaluateTitle(const TitleState& s, int64_t as_of);

// {"profile_id":..,"as_of":..,...,"updated_at":..}
void AppendProfileJson(std::string_view id, const ProfileFeatures& f, std::string* out);
// {"title_id":..,"as_of":..,...,"updated_at":..}
void AppendTitleJson(std::string_view id, const TitleFeatures& f, std::string* out);
// The nested parts as JSON text (Parquet columns of the offline outputs).
std::string RecentTitlesJson(const std::vector<RecentTitleFeature>& v);
std::string GenreSecondsJson(const std::map<std::string, int64_t>& m);

}  // namespace viewpipe::features
