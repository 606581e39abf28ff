#include "sre/qoe_counts.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "common/json_writer.h"

namespace viewpipe::sre {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double Ratio(double num, double den) { return den > 0 ? num / den : kNaN; }

void Field(std::string* out, const char* name, double v) {
  *out += ",\"";
  *out += name;
  *out += "\":";
  AppendJsonDouble(out, v);
}

void IntField(std::string* out, const char* name, int64_t v, bool first = false) {
  if (!first) *out += ',';
  *out += '"';
  *out += name;
  *out += "\":";
  AppendJsonInt(out, v);
}

}  // namespace

uint16_t StartupHistogram::BucketOf(int32_t ms) {
  const int32_t v = std::clamp(ms, 0, kMaxMs);
  if (v < 2000) return static_cast<uint16_t>(v / 10);
  if (v < 10000) return static_cast<uint16_t>(200 + (v - 2000) / 50);
  return static_cast<uint16_t>(360 + (v - 10000) / 250);
}

int64_t StartupHistogram::BucketLow(uint16_t b) {
  if (b < 200) return int64_t{b} * 10;
  if (b < 360) return 2000 + int64_t{b - 200} * 50;
  return 10000 + int64_t{b - 360} * 250;
}

int64_t StartupHistogram::BucketWidth(uint16_t b) { return b < 200 ? 10 : b < 360 ? 50 : 250; }

void StartupHistogram::Add(int32_t ms) {
  ++buckets_[BucketOf(ms)];
  ++count_;
}

void StartupHistogram::AddBucket(uint16_t b, uint32_t n) {
  if (n == 0) return;
  buckets_[b] += n;
  count_ += n;
}

void StartupHistogram::Merge(const StartupHistogram& other) {
  for (const auto& [b, n] : other.buckets_) buckets_[b] += n;
  count_ += other.count_;
}

int64_t StartupHistogram::Quantile(double q) const {
  if (count_ == 0) return -1;
  const uint64_t rank =
      std::max<uint64_t>(1, static_cast<uint64_t>(std::ceil(q * static_cast<double>(count_))));
  uint64_t seen = 0;
  for (const auto& [b, n] : buckets_) {
    seen += n;
    if (seen >= rank) return BucketLow(b) + BucketWidth(b) / 2;
  }
  return BucketLow(buckets_.rbegin()->first) + BucketWidth(buckets_.rbegin()->first) / 2;
}

void QoeCounts::Merge(const QoeCounts& o) {
  attempts += o.attempts;
  plays += o.plays;
  vsf += o.vsf;
  ebvs += o.ebvs;
  playback_failures += o.playback_failures;
  ended_plays += o.ended_plays;
  rebuffers += o.rebuffers;
  stall_starts += o.stall_starts;
  stalled_ms += o.stalled_ms;
  longest_stall_ms = std::max(longest_stall_ms, o.longest_stall_ms);
  playing_ms += o.playing_ms;
  bitrate_samples += o.bitrate_samples;
  bitrate_sum_kbps += o.bitrate_sum_kbps;
  vst.Merge(o.vst);
}

bool QoeCounts::Empty() const { return *this == QoeCounts{}; }

QoeMetrics ComputeMetrics(const QoeCounts& c) {
  QoeMetrics m;
  const auto attempts = static_cast<double>(c.attempts);
  m.attempts = c.attempts;
  m.vsf_rate = Ratio(static_cast<double>(c.vsf), attempts);
  m.ebvs_rate = Ratio(static_cast<double>(c.ebvs), attempts);
  m.vst_p50_ms = c.vst.Quantile(0.50);
  m.vst_p95_ms = c.vst.Quantile(0.95);
  m.rebuffer_ratio = Ratio(static_cast<double>(c.stalled_ms),
                           static_cast<double>(c.stalled_ms + c.playing_ms));
  m.playback_failure_rate =
      Ratio(static_cast<double>(c.playback_failures), static_cast<double>(c.ended_plays));
  m.avg_bitrate_kbps =
      Ratio(static_cast<double>(c.bitrate_sum_kbps), static_cast<double>(c.bitrate_samples));
  return m;
}

void AppendMetricsJson(const QoeCounts& c, std::string* out) {
  const QoeMetrics m = ComputeMetrics(c);
  IntField(out, "attempts", static_cast<int64_t>(m.attempts), /*first=*/true);
  Field(out, "vsf_rate", m.vsf_rate);
  Field(out, "ebvs_rate", m.ebvs_rate);
  Field(out, "vst_p50_ms", m.vst_p50_ms < 0 ? kNaN : static_cast<double>(m.vst_p50_ms));
  Field(out, "vst_p95_ms", m.vst_p95_ms < 0 ? kNaN : static_cast<double>(m.vst_p95_ms));
  Field(out, "rebuffer_ratio", m.rebuffer_ratio);
  Field(out, "playback_failure_rate", m.playback_failure_rate);
  Field(out, "avg_bitrate_kbps", m.avg_bitrate_kbps);
  IntField(out, "plays", static_cast<int64_t>(c.plays));
  IntField(out, "vsf", static_cast<int64_t>(c.vsf));
  IntField(out, "ebvs", static_cast<int64_t>(c.ebvs));
  IntField(out, "playback_failures", static_cast<int64_t>(c.playback_failures));
  IntField(out, "ended_plays", static_cast<int64_t>(c.ended_plays));
  IntField(out, "stalled_ms", c.stalled_ms);
  IntField(out, "playing_ms", c.playing_ms);
}

}  // namespace viewpipe::sre
