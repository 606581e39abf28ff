#include "sre/sre_codec.h"

#include <bit>

#include "ops/bytes.h"

namespace viewpipe::sre::codec {
namespace {

constexpr uint64_t kMaxEntries = 1ull << 32;

bool GetU64(std::string_view* in, uint64_t* v) { return ops::bytes::GetVarint(in, v); }

}  // namespace

void PutDouble(std::string* out, double v) {
  ops::bytes::PutFixed64(out, std::bit_cast<uint64_t>(v));
}

bool GetDouble(std::string_view* in, double* v) {
  uint64_t bits;
  if (!ops::bytes::GetFixed64(in, &bits)) return false;
  *v = std::bit_cast<double>(bits);
  return true;
}

void PutCounts(std::string* out, const QoeCounts& c) {
  using ops::bytes::PutSigned;
  using ops::bytes::PutVarint;
  for (uint64_t v : {c.attempts, c.plays, c.vsf, c.ebvs, c.playback_failures, c.ended_plays,
                     c.rebuffers, c.stall_starts, c.bitrate_samples}) {
    PutVarint(out, v);
  }
  PutSigned(out, c.stalled_ms);
  PutSigned(out, c.longest_stall_ms);
  PutSigned(out, c.playing_ms);
  PutSigned(out, c.bitrate_sum_kbps);
  PutVarint(out, c.vst.buckets().size());
  for (const auto& [b, n] : c.vst.buckets()) {
    PutVarint(out, b);
    PutVarint(out, n);
  }
}

bool GetCounts(std::string_view* in, QoeCounts* c) {
  *c = QoeCounts{};
  for (uint64_t* v : {&c->attempts, &c->plays, &c->vsf, &c->ebvs, &c->playback_failures,
                      &c->ended_plays, &c->rebuffers, &c->stall_starts,
                      &c->bitrate_samples}) {
    if (!GetU64(in, v)) return false;
  }
  using ops::bytes::GetSigned;
  if (!GetSigned(in, &c->stalled_ms) || !GetSigned(in, &c->longest_stall_ms) ||
      !GetSigned(in, &c->playing_ms) ||
      !GetSigned(in, &c->bitrate_sum_kbps)) {
    return false;
  }
  uint64_t buckets;
  if (!ops::bytes::GetCount(in, UINT16_MAX + 1ull, &buckets)) return false;
  for (uint64_t i = 0; i < buckets; ++i) {
    uint64_t b, n;
    if (!ops::bytes::GetCount(in, UINT16_MAX, &b) || !ops::bytes::GetCount(in, UINT32_MAX, &n)) {
      return false;
    }
    c->vst.AddBucket(static_cast<uint16_t>(b), static_cast<uint32_t>(n));
  }
  return true;
}

void PutGroupKey(std::string* out, const GroupKey& g) {
  ops::bytes::PutU8(out, static_cast<uint8_t>(g.dim));
  ops::bytes::PutString(out, g.key);
}

bool GetGroupKey(std::string_view* in, GroupKey* g) {
  uint8_t dim;
  std::string_view key;
  if (!ops::bytes::GetU8(in, &dim) || dim >= kQoeDims || !ops::bytes::GetString(in, &key)) {
    return false;
  }
  g->dim = static_cast<QoeDim>(dim);
  g->key = std::string(key);
  return true;
}

void PutGroupCounts(std::string* out, const GroupCounts& counts) {
  ops::bytes::PutVarint(out, counts.size());
  for (const auto& [g, c] : counts) {
    PutGroupKey(out, g);
    PutCounts(out, c);
  }
}

bool GetGroupCounts(std::string_view* in, GroupCounts* counts) {
  counts->clear();
  uint64_t n;
  if (!ops::bytes::GetCount(in, kMaxEntries, &n)) return false;
  for (uint64_t i = 0; i < n; ++i) {
    GroupKey g;
    QoeCounts c;
    if (!GetGroupKey(in, &g) || !GetCounts(in, &c)) return false;
    counts->emplace_hint(counts->end(), std::move(g), std::move(c));
  }
  return true;
}

void PutTimedCounts(std::string* out, const std::map<int64_t, GroupCounts>& m) {
  ops::bytes::PutVarint(out, m.size());
  for (const auto& [t, counts] : m) {
    ops::bytes::PutSigned(out, t);
    PutGroupCounts(out, counts);
  }
}

bool GetTimedCounts(std::string_view* in, std::map<int64_t, GroupCounts>* m) {
  m->clear();
  uint64_t n;
  if (!ops::bytes::GetCount(in, kMaxEntries, &n)) return false;
  for (uint64_t i = 0; i < n; ++i) {
    int64_t t;
    GroupCounts counts;
    if (!ops::bytes::GetSigned(in, &t) || !GetGroupCounts(in, &counts)) return false;
    m->emplace_hint(m->end(), t, std::move(counts));
  }
  return true;
}

}  // namespace viewpipe::sre::codec
