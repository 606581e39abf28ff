// SessionTracker::Save / Load: the tracker's part of the ops checkpoint.
//
// Sections (checkpoint_file.h), in this order:
//   1 tracker   u8 version=1, then signed varints: timeout_ms, lateness_ms,
//               complete_after_ms, watermark, first_second, dropped_before;
//               varint evict_cursor
//   2 series    ViewerSeries::EncodeHeader
//   3 keys      varint n, then n x ViewerSeries::EncodeKey (in key order;
//               several sections)
//   4 names     u8 dimension, varint n, n x (string name, varint key)
//               (in id order; several sections)
//   5 sessions  varint n, then n x session: fixed64 id, signed last_ts,
//               varint span_ms, start_index, title, cdn, live, country,
//               u8 flags (with the device id), varint units, units x fixed16
//               (several sections)
// Load checks every id and trail so a checkpoint that passed its checksums
// but does not fit together is refused (Corruption) rather than trusted.

#include <algorithm>

#include "ops/bytes.h"
#include "ops/checkpoint_file.h"
#include "ops/session_tracker.h"

namespace viewpipe::ops {
namespace {

constexpr uint8_t kSectionTracker = 1;
constexpr uint8_t kSectionSeries = 2;
constexpr uint8_t kSectionKeys = 3;
constexpr uint8_t kSectionNames = 4;
constexpr uint8_t kSectionSessions = 5;
constexpr uint8_t kVersion = 1;
constexpr size_t kSectionTarget = 8 << 20;  // bytes a chunked section aims at

Status Bad(const char* what) { return Status::Corruption(std::string("ops checkpoint: ") + what); }

}  // namespace

Status SessionTracker::Save(CheckpointWriter* w) const {
  std::string buf;
  bytes::PutU8(&buf, kVersion);
  bytes::PutSigned(&buf, options_.timeout_ms);
  bytes::PutSigned(&buf, options_.lateness_ms);
  bytes::PutSigned(&buf, options_.complete_after_ms);
  bytes::PutU8(&buf, has_time() ? 1 : 0);
  bytes::PutSigned(&buf, watermark_);
  bytes::PutSigned(&buf, first_second_);
  bytes::PutSigned(&buf, dropped_before_);
  bytes::PutVarint(&buf, evict_cursor_);
  VP_RETURN_IF_ERROR(w->Section(kSectionTracker, buf));
  if (!has_time()) return Status::OK();
  buf.clear();
  series_->EncodeHeader(&buf);
  VP_RETURN_IF_ERROR(w->Section(kSectionSeries, buf));

  auto chunked = [w](uint8_t kind, size_t n, const std::string& prefix, auto&& encode) {
    std::string body;
    size_t count = 0;
    auto flush = [&]() -> Status {
      if (count == 0) return Status::OK();
      std::string section = prefix;
      bytes::PutVarint(&section, count);
      section += body;
      body.clear();
      count = 0;
      return w->Section(kind, section);
    };
    for (size_t i = 0; i < n; ++i) {
      if (encode(i, &body)) ++count;
      if (body.size() >= kSectionTarget) VP_RETURN_IF_ERROR(flush());
    }
    return flush();
  };
  auto encode_key = [this](size_t k, std::string* out) {
    series_->EncodeKey(static_cast<ViewerSeries::KeyId>(k), out);
    return true;
  };
  VP_RETURN_IF_ERROR(chunked(kSectionKeys, series_->key_count(), "", encode_key));
  for (Dimension d : kAllDimensions) {
    std::string prefix;
    bytes::PutU8(&prefix, static_cast<uint8_t>(d));
    VP_RETURN_IF_ERROR(chunked(kSectionNames, keys_.size(d), prefix,
                               [this, d](size_t id, std::string* out) {
                                 const uint32_t i = static_cast<uint32_t>(id);
                                 bytes::PutString(out, keys_.names(d).Name(i));
                                 bytes::PutVarint(out, keys_.Key(d, i));
                                 return true;
                               }));
  }
  return chunked(kSectionSessions, sessions_.dense_size(), "",
                 [this](size_t pos, std::string* out) {
                   const Session& s = sessions_.dense(static_cast<uint32_t>(pos));
                   if (s.id == 0) return false;
                   bytes::PutFixed64(out, s.id);
                   bytes::PutSigned(out, s.last_ts);
                   bytes::PutVarint(out, s.span_ms);
                   bytes::PutVarint(out, s.start_index);
                   bytes::PutVarint(out, s.title);
                   bytes::PutVarint(out, s.cdn);
                   bytes::PutVarint(out, s.live);
                   bytes::PutVarint(out, s.country);
                   bytes::PutU8(out, s.flags);
                   bytes::PutVarint(out, s.trail_units);
                   const uint16_t* t =
                       const_cast<TrailSlab&>(slab_).At(s.trail_class, s.trail_slot);
                   for (uint16_t i = 0; i < s.trail_units; ++i) {
                     out->push_back(static_cast<char>(t[i] & 0xFF));
                     out->push_back(static_cast<char>(t[i] >> 8));
                   }
                   return true;
                 });
}

Status SessionTracker::LoadSession(std::string_view* in) {
  uint64_t id, span, start_index, title, cdn, live, country, units;
  int64_t last_ts;
  uint8_t flags;
  if (!bytes::GetFixed64(in, &id) || !bytes::GetSigned(in, &last_ts) ||
      !bytes::GetCount(in, kMaxSpanMs, &span) || !bytes::GetCount(in, UINT16_MAX, &start_index) ||
      !bytes::GetCount(in, UINT32_MAX, &title) || !bytes::GetCount(in, UINT16_MAX, &cdn) ||
      !bytes::GetCount(in, UINT16_MAX, &live) || !bytes::GetCount(in, UINT16_MAX, &country) ||
      !bytes::GetU8(in, &flags) || !bytes::GetCount(in, TrailSlab::kMaxUnits, &units) ||
      units == 0 || in->size() < units * 2) {
    return Bad("truncated session");
  }
  Session probe;
  probe.flags = flags;
  if (id == 0 || title >= keys_.size(Dimension::kTitle) || cdn >= keys_.size(Dimension::kCdn) ||
      (live != Session::kNoLive && live >= keys_.size(Dimension::kLiveEvent)) ||
      country >= keys_.size(Dimension::kCountry) ||
      probe.device() >= keys_.size(Dimension::kDevice) || sessions_.Find(id)) {
    return Bad("session does not fit");
  }
  std::vector<uint16_t> t(units);
  for (uint64_t i = 0; i < units; ++i) {
    t[i] = static_cast<uint16_t>(static_cast<uint8_t>((*in)[2 * i]) |
                                 (static_cast<uint8_t>((*in)[2 * i + 1]) << 8));
  }
  in->remove_prefix(units * 2);
  if (!trail::Valid(t.data(), t.size())) return Bad("damaged trail");
  marks_.clear();
  trail::Decode(t.data(), t.size(), last_ts - static_cast<int64_t>(span), &marks_);
  if (marks_.back().ts != last_ts || marks_.front().ts != last_ts - static_cast<int64_t>(span) ||
      marks_.back().terminal != ((flags & Session::kLastTerminal) != 0) ||
      (start_index < Session::kStartedBeforeFirst &&
       (start_index >= marks_.size() || marks_[start_index].terminal))) {
    return Bad("trail does not match its session");
  }
  for (size_t i = 1; i < marks_.size(); ++i) {
    if (!(marks_[i - 1] < marks_[i])) return Bad("trail out of order");
  }
  Session* s = sessions_.Insert(id);
  s->last_ts = last_ts;
  s->span_ms = static_cast<uint32_t>(span);
  s->start_index = static_cast<uint16_t>(start_index);
  s->title = static_cast<uint32_t>(title);
  s->cdn = static_cast<uint16_t>(cdn);
  s->live = static_cast<uint16_t>(live);
  s->country = static_cast<uint16_t>(country);
  s->flags = flags;
  s->trail_class = TrailSlab::ClassFor(units);
  s->trail_slot = slab_.Allocate(s->trail_class);
  std::copy(t.begin(), t.end(), Trail(*s));
  s->trail_units = static_cast<uint16_t>(units);
  return Status::OK();
}

Status SessionTracker::Load(CheckpointReader* r) {
  VP_CHECK(!has_time() && sessions_.size() == 0, "Load needs a fresh tracker");
  uint8_t kind;
  std::string payload;
  VP_RETURN_IF_ERROR(r->Next(&kind, &payload));
  std::string_view in = payload;
  uint8_t version, has_time_byte;
  int64_t timeout, lateness, complete_after, watermark, first_second, dropped_before;
  uint64_t cursor;
  if (kind != kSectionTracker || !bytes::GetU8(&in, &version) || version != kVersion ||
      !bytes::GetSigned(&in, &timeout) || !bytes::GetSigned(&in, &lateness) ||
      !bytes::GetSigned(&in, &complete_after) || !bytes::GetU8(&in, &has_time_byte) ||
      !bytes::GetSigned(&in, &watermark) || !bytes::GetSigned(&in, &first_second) ||
      !bytes::GetSigned(&in, &dropped_before) || !bytes::GetCount(&in, UINT32_MAX, &cursor) ||
      !in.empty()) {
    return Bad("bad tracker section");
  }
  if (timeout != options_.timeout_ms || lateness != options_.lateness_ms ||
      complete_after != options_.complete_after_ms) {
    return Status::InvalidArgument(
        "ops checkpoint was written with another timeout, lateness or completeness allowance");
  }
  if (has_time_byte == 0) {
    VP_RETURN_IF_ERROR(r->Next(&kind, &payload));
    return kind == CheckpointReader::kEnd ? Status::OK() : Bad("data after an empty tracker");
  }
  VP_RETURN_IF_ERROR(r->Next(&kind, &payload));
  in = payload;
  auto series = kind == kSectionSeries ? ViewerSeries::DecodeHeader(&in) : nullptr;
  if (series == nullptr || !in.empty()) return Bad("bad series section");
  watermark_ = watermark;
  first_second_ = first_second;
  dropped_before_ = dropped_before;
  evict_cursor_ = static_cast<uint32_t>(cursor);
  clip_ms_ = series->mutable_begin() * 1000;
  series_ = std::move(series);
  for (;;) {
    VP_RETURN_IF_ERROR(r->Next(&kind, &payload));
    if (kind == CheckpointReader::kEnd) break;
    in = payload;
    uint64_t n;
    uint8_t dim = 0;
    if (kind == kSectionNames && (!bytes::GetU8(&in, &dim) || dim >= kDimensionCount)) {
      return Bad("bad names section");
    }
    if (!bytes::GetCount(&in, in.size(), &n)) return Bad("bad section count");
    for (uint64_t i = 0; i < n; ++i) {
      if (kind == kSectionKeys) {
        if (sessions_.size() > 0 || !series_->DecodeKey(&in)) return Bad("bad key");
      } else if (kind == kSectionNames) {
        std::string_view name;
        uint64_t key;
        if (sessions_.size() > 0 || !bytes::GetString(&in, &name) ||
            !bytes::GetCount(&in, series_->key_count() - 1, &key) || key == 0 ||
            !keys_.Restore(static_cast<Dimension>(dim), name, static_cast<uint32_t>(key))) {
          return Bad("bad name");
        }
      } else if (kind == kSectionSessions) {
        VP_RETURN_IF_ERROR(LoadSession(&in));
      } else {
        return Bad("unknown section");
      }
    }
    if (!in.empty()) return Bad("trailing bytes in a section");
  }
  if (series_->key_count() == 0) return Bad("no total key");
  return Status::OK();
}

}  // namespace viewpipe::ops
