#pragma once
// Merging partial feature states. With a shared store ([features] store =
// "redis", docs/scale.md) every partition of `viewing` has its own PARTIAL
// state per profile and title, folded by FeatureFold from that partition's
// events only and written only by the partition's owner; a lookup merges
// the partials. Every part of a state is an order-independent aggregate,
// so the merge equals the fold of all the events, field by field (the trend
// score up to floating-point rounding):
//   last_ts, updated_at   the maximum
//   recent titles         per title the newest (ts, event_id) entry, then the
//                         kRecentTitles newest (a title of the global top N is
//                         in the top N of the partition holding its newest event)
//   days                  per day: attempts, heartbeats per genre and per device summed
//   completed             per title the newest completing ts
//   alive seconds, plays  summed per second / bucket (a session, and so its
//                         mark, lives in one partition: key session_id)
//   trend score           each rescaled to the newest reference time, summed
//   completion sums       summed
// and then pruned as the fold prunes, at the merged last_ts (a partial is
// pruned at its own, older or equal, last_ts: it keeps a superset).
// A merge of one state is that state. Tests: feature_merge_test.cc.

#include <span>

#include "features/feature_state.h"

namespace viewpipe::features {

ProfileState MergeProfileStates(std::span<const ProfileState> parts);
TitleState MergeTitleStates(std::span<const TitleState> parts);

}  // namespace viewpipe::features
