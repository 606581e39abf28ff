// OutageDetector's checkpoint: the detector's state is a function of the
// slices it was shown, so a restart that resumes from a checkpoint must
// restore it as it was (baselines, persistence, open alerts), not relearn it.
#include "ops/bytes.h"
#include "sre/outage_detector.h"
#include "sre/sre_codec.h"

#include <algorithm>

namespace viewpipe::sre {
namespace {

using ops::bytes::GetCount;
using ops::bytes::GetSigned;
using ops::bytes::GetString;
using ops::bytes::PutSigned;
using ops::bytes::PutString;
using ops::bytes::PutVarint;

constexpr uint64_t kMaxEntries = 1ull << 32;
// The section's format: first in it since the learned stall starts came
// in (0x5E02; 0x5E03 with the learned fatal errors); a checkpoint of an
// earlier format is rejected, and the state rebuilt from the topic.
constexpr uint64_t kFormat = 0x5E03;

bool GetText(std::string_view* in, std::string* s) {
  std::string_view v;
  if (!GetString(in, &v)) return false;
  *s = std::string(v);
  return true;
}

bool GetInt(std::string_view* in, int* v) {
  int64_t x;
  if (!GetSigned(in, &x) || x < INT32_MIN || x > INT32_MAX) return false;
  *v = static_cast<int>(x);
  return true;
}

}  // namespace

void OutageDetector::Save(std::string* out) const {
  PutVarint(out, kFormat);
  for (int n : open_specific_) PutSigned(out, n);
  PutVarint(out, covered_);
  PutVarint(out, groups_.size());
  for (const auto& [g, gs] : groups_) {
    codec::PutGroupKey(out, g);
    for (const MetricState& s : gs.metrics) {
      PutVarint(out, s.history.size());
      for (const auto& [num, den] : s.history) {
        codec::PutDouble(out, num);
        codec::PutDouble(out, den);
      }
      codec::PutDouble(out, s.sum_num);
      codec::PutDouble(out, s.sum_den);
      PutSigned(out, s.normal);
      PutSigned(out, s.normal_start);
      PutString(out, s.open_id);
    }
    PutVarint(out, gs.attempts.size());
    for (double a : gs.attempts) codec::PutDouble(out, a);
    PutSigned(out, gs.first_data);
    PutSigned(out, gs.last_data_end);
    PutString(out, gs.silent_id);
    PutSigned(out, gs.silent_since);
    PutVarint(out, gs.stalls.size());
    for (double x : gs.stalls) codec::PutDouble(out, x);
    codec::PutDouble(out, gs.stalls_sum);
    PutVarint(out, gs.fatals.size());
    for (double x : gs.fatals) codec::PutDouble(out, x);
    codec::PutDouble(out, gs.fatals_sum);
  }
}

bool OutageDetector::Load(std::string_view* in) {
  uint64_t format;
  if (!ops::bytes::GetVarint(in, &format) || format != kFormat) return false;
  std::array<int, kQoeMetrics> open_specific{};
  for (int& n : open_specific) {
    if (!GetInt(in, &n)) return false;
  }
  uint64_t covered, groups;
  if (!ops::bytes::GetVarint(in, &covered) || !GetCount(in, kMaxEntries, &groups)) return false;
  std::map<GroupKey, GroupState> loaded;
  for (uint64_t i = 0; i < groups; ++i) {
    GroupKey g;
    if (!codec::GetGroupKey(in, &g)) return false;
    GroupState gs;
    for (MetricState& s : gs.metrics) {
      uint64_t n;
      if (!GetCount(in, kMaxEntries, &n)) return false;
      for (uint64_t k = 0; k < n; ++k) {
        double num, den;
        if (!codec::GetDouble(in, &num) || !codec::GetDouble(in, &den)) return false;
        s.history.emplace_back(num, den);
      }
      if (&s == &gs.metrics[static_cast<size_t>(QoeMetric::kRebufferRatio)]) {
        for (const auto& h : s.history) s.sorted.push_back(h.first);
        std::sort(s.sorted.begin(), s.sorted.end());
      }
      if (!codec::GetDouble(in, &s.sum_num) || !codec::GetDouble(in, &s.sum_den) ||
          !GetInt(in, &s.normal) || !GetSigned(in, &s.normal_start) || !GetText(in, &s.open_id)) {
        return false;
      }
    }
    uint64_t n;
    if (!GetCount(in, kMaxEntries, &n)) return false;
    for (uint64_t k = 0; k < n; ++k) {
      double a;
      if (!codec::GetDouble(in, &a)) return false;
      gs.attempts.push_back(a);
    }
    if (!GetSigned(in, &gs.first_data) || !GetSigned(in, &gs.last_data_end) ||
        !GetText(in, &gs.silent_id) || !GetSigned(in, &gs.silent_since) ||
        !GetCount(in, kMaxEntries, &n)) {
      return false;
    }
    for (uint64_t k = 0; k < n; ++k) {
      double x;
      if (!codec::GetDouble(in, &x)) return false;
      gs.stalls.push_back(x);
    }
    if (!codec::GetDouble(in, &gs.stalls_sum) || !GetCount(in, kMaxEntries, &n)) return false;
    for (uint64_t k = 0; k < n; ++k) {
      double x;
      if (!codec::GetDouble(in, &x)) return false;
      gs.fatals.push_back(x);
    }
    if (!codec::GetDouble(in, &gs.fatals_sum)) return false;
    loaded.emplace_hint(loaded.end(), std::move(g), std::move(gs));
  }
  groups_ = std::move(loaded);
  open_specific_ = open_specific;
  covered_ = covered;
  return true;
}

}  // namespace viewpipe::sre
