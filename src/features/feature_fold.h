#pragma once
// FeatureFold: THE definition of every recommendation feature's input,
// used by the streaming updater (FeatureProcessor) and by the offline jobs
// (OfflineFold) alike, so online and offline cannot drift. It folds one
// event into a profile's and a title's state (feature_state.h); Evaluate*
// (feature_vector.h) turns a state into the feature vector as of a time T.
//
// Definitions (docs/features.md has the whole table):
//   watch time   every heartbeat is kHeartbeatSeconds of watching, credited
//                to the genre of its title (catalog; "unknown" when absent)
//                and to its device, in the UTC day of its ts
//   session      an attempt event starts one
//   completion   an event whose position_ms >= 90 % of the title's duration
//   play         a play_start event
//   concurrency  events.md: started (attempt/play_start), newest event not a
//                stop or fatal error, newest event within the 30 s timeout of
//                T, at one-second granularity: its second is one of the 30
//                whole seconds before T's second, or T's second up to T
//
// Pruning keeps the state bounded and never drops what a window at a time
// T >= the state's newest event can see (tested).
//
// Thread compatible; the catalog must outlive the fold.

#include <cstdint>

#include "event/event.h"
#include "features/catalog_table.h"
#include "features/feature_state.h"

namespace viewpipe::features {

inline constexpr int kRecentTitles = 20;
inline constexpr int64_t kHeartbeatSeconds = 10;
inline constexpr int64_t kMsPerMinute = 60 * 1000;
inline constexpr int64_t kMsPerHourF = 60 * kMsPerMinute;
inline constexpr int64_t kMsPerDayF = 24 * kMsPerHourF;
inline constexpr int kProfileHorizonDays = 30;  // no profile feature looks further back
inline constexpr int64_t kCompletionPermille = 900;
inline constexpr int64_t kSessionTimeoutMs = 30 * 1000;
inline constexpr int64_t kMsPerSecond = 1000;
inline constexpr int64_t kPlayBucketMs = 5 * kMsPerMinute;  // plays_1h buckets
inline constexpr int64_t kTrendHalfLifeMs = 6 * kMsPerHourF;

// The UTC day of a ms timestamp (floor).
int32_t DayOf(int64_t ms);
// floor(ms / step) * step, for negative ms too.
int64_t FloorTo(int64_t ms, int64_t step);
// The store id of a session's mark: unambiguous for any two ids.
std::string SessionKeyId(std::string_view title_id, std::string_view session_id);

// Drops what no window at a time T >= the state's last_ts can see (the
// fold calls them after every event; MergeProfileStates/MergeTitleStates,
// feature_merge.h, after merging partial states).
void PruneProfileState(ProfileState* p);
void PruneTitleState(TitleState* t);

class FeatureFold {
 public:
  explicit FeatureFold(const CatalogTable* catalog) : catalog_(catalog) {}

  // Folds e into the state of e.profile_id.
  void ApplyToProfile(const EventView& e, ProfileState* p) const;
  // Folds e into the state of e.title_id and the mark of its session
  // (the mark stored under SessionKeyId(e.title_id, e.session_id)).
  void ApplyToTitle(const EventView& e, SessionMark* session, TitleState* t) const;
  // Whether e's title is missing from the catalog (genre "unknown").
  bool MissesCatalog(const EventView& e) const { return catalog_->Find(e.title_id) == nullptr; }

 private:
  void UpdateRecent(const EventView& e, ProfileState* p) const;
  void UpdateDay(const EventView& e, ProfileState* p) const;
  void UpdateCompletion(const EventView& e, ProfileState* p) const;

  const CatalogTable* catalog_;
};

}  // namespace viewpipe::features
