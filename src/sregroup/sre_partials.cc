#include "sregroup/sre_partials.h"

#include <charconv>

#include "ops/bytes.h"
#include "sre/sre_codec.h"

namespace viewpipe::sre {
namespace {

const char* WhatName(PartialQuery::What w) {
  switch (w) {
    case PartialQuery::What::kTimes: return "times";
    case PartialQuery::What::kSlices: return "slices";
    case PartialQuery::What::kRange: return "range";
    case PartialQuery::What::kSeries: return "series";
  }
  return "times";
}

bool ParseInt(const std::string& v, int64_t* out) {
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), *out);
  return !v.empty() && ec == std::errc() && p == v.data() + v.size();
}

// Percent-encodes a group key for a query string.
std::string Escape(const std::string& s) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (isalnum(c) || c == '-' || c == '_' || c == '.') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

}  // namespace

std::string PartialsPath(const PartialQuery& q) {
  std::string s = std::string("/v1/sre/partials?what=") + WhatName(q.what) +
                  "&from=" + std::to_string(q.from) + "&to=" + std::to_string(q.to) +
                  "&step_ms=" + std::to_string(q.step_ms);
  if (q.what == PartialQuery::What::kRange && q.dim) {
    s += "&dim=" + std::string(QoeDimName(*q.dim));
  }
  if (q.what == PartialQuery::What::kSeries && q.group.dim != QoeDim::kTotal) {
    s += "&dim=" + std::string(QoeDimName(q.group.dim)) + "&key=" + Escape(q.group.key);
  }
  return s;
}

Status ParsePartialQuery(const std::map<std::string, std::string>& params, PartialQuery* q) {
  auto get = [&](const char* k) -> std::string {
    auto it = params.find(k);
    return it == params.end() ? std::string() : it->second;
  };
  const std::string what = get("what");
  if (what == "times") {
    q->what = PartialQuery::What::kTimes;
  } else if (what == "slices") {
    q->what = PartialQuery::What::kSlices;
  } else if (what == "range") {
    q->what = PartialQuery::What::kRange;
  } else if (what == "series") {
    q->what = PartialQuery::What::kSeries;
  } else {
    return Status::InvalidArgument("what must be times, slices, range or series");
  }
  if (!ParseInt(get("from"), &q->from) || !ParseInt(get("to"), &q->to) ||
      !ParseInt(get("step_ms"), &q->step_ms) || q->step_ms <= 0) {
    return Status::InvalidArgument("from, to and step_ms must be integers");
  }
  const std::string dim = get("dim");
  if (!dim.empty()) {
    auto d = ParseQoeDim(dim);
    if (!d) return Status::InvalidArgument("unknown dim '" + dim + "'");
    q->dim = d;
    q->group = GroupKey{*d, get("key")};
  }
  return Status::OK();
}

std::string EncodePartials(const std::vector<PartitionPartial>& parts) {
  std::string out;
  ops::bytes::PutVarint(&out, parts.size());
  for (const PartitionPartial& p : parts) {
    ops::bytes::PutVarint(&out, static_cast<uint64_t>(p.partition));
    ops::bytes::PutVarint(&out, static_cast<uint64_t>(p.next));
    ops::bytes::PutSigned(&out, p.watermark);
    ops::bytes::PutSigned(&out, p.closed_through);
    ops::bytes::PutSigned(&out, p.slices_from);
    codec::PutTimedCounts(&out, p.counts);
  }
  return out;
}

Status DecodePartials(std::string_view in, std::vector<PartitionPartial>* parts) {
  uint64_t n;
  if (!ops::bytes::GetCount(&in, 1u << 16, &n)) return Status::Corruption("sre partials: count");
  parts->clear();
  for (uint64_t i = 0; i < n; ++i) {
    PartitionPartial p;
    uint64_t partition, next;
    if (!ops::bytes::GetCount(&in, INT32_MAX, &partition) ||
        !ops::bytes::GetCount(&in, INT64_MAX, &next) ||
        !ops::bytes::GetSigned(&in, &p.watermark) ||
        !ops::bytes::GetSigned(&in, &p.closed_through) ||
        !ops::bytes::GetSigned(&in, &p.slices_from) || !codec::GetTimedCounts(&in, &p.counts)) {
      return Status::Corruption("sre partials: bad partition entry");
    }
    p.partition = static_cast<PartitionId>(partition);
    p.next = static_cast<Offset>(next);
    parts->push_back(std::move(p));
  }
  if (!in.empty()) return Status::Corruption("sre partials: trailing bytes");
  return Status::OK();
}

std::map<int64_t, GroupCounts> SumCounts(const std::vector<PartitionPartial>& parts) {
  std::map<int64_t, GroupCounts> out;
  for (const PartitionPartial& p : parts) {
    for (const auto& [start, groups] : p.counts) {
      GroupCounts& dst = out[start];
      for (const auto& [g, c] : groups) dst[g].Merge(c);
    }
  }
  return out;
}

}  // namespace viewpipe::sre
