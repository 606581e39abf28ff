#include "sre/recent_slices.h"

#include "ops/bytes.h"
#include "sre/sre_codec.h"

namespace viewpipe::sre {

int64_t RecentSlices::SliceOf(int64_t ts) const {
  const int64_t q = ts / slice_ms_ - ((ts % slice_ms_ != 0) && (ts < 0));
  return q * slice_ms_;
}

GroupCounts* RecentSlices::At(int64_t ts) {
  const int64_t s = SliceOf(ts);
  if (pruned_before_ != kNothingPruned && s < pruned_before_) return nullptr;
  return &slices_[s];
}

void RecentSlices::PruneBefore(int64_t t) {
  if (pruned_before_ == kNothingPruned || t > pruned_before_) pruned_before_ = t;
  while (!slices_.empty() && slices_.begin()->first < pruned_before_) {
    slices_.erase(slices_.begin());
  }
}

std::map<int64_t, const GroupCounts*> RecentSlices::Range(int64_t from, int64_t to) const {
  std::map<int64_t, const GroupCounts*> out;
  for (auto it = slices_.lower_bound(from); it != slices_.end() && it->first < to; ++it) {
    out.emplace(it->first, &it->second);
  }
  return out;
}

void RecentSlices::Save(std::string* out) const {
  ops::bytes::PutSigned(out, pruned_before_);
  codec::PutTimedCounts(out, slices_);
}

bool RecentSlices::Load(std::string_view* in) {
  return ops::bytes::GetSigned(in, &pruned_before_) && codec::GetTimedCounts(in, &slices_);
}

}  // namespace viewpipe::sre
