#include "sregroup/partition_qoe.h"

#include <array>

#include "ops/bytes.h"

namespace viewpipe::sre {
namespace {

// The options the saved state's shape depends on (as SreState's, plus the
// slices kept): a checkpoint of other ones is rebuilt from the log.
constexpr int64_t kFormat = 1;
std::array<int64_t, 10> ShapeOf(const SreOptions& o, int64_t slice_keep_ms) {
  return {kFormat,          o.qoe.window_ms, o.qoe.session_timeout_ms, o.detector.tick_ms,
          slice_keep_ms,    o.keep_10s_ms,   o.keep_1m_ms,             o.keep_5m_ms,
          o.qoe.lateness_ms, o.qoe.max_rebuffer_ms};
}

}  // namespace

PartitionQoe::PartitionQoe(const SreOptions& options, int64_t slice_keep_ms)
    : options_(options),
      slice_keep_ms_(slice_keep_ms),
      slices_(options.detector.tick_ms),
      windows_(options.qoe.window_ms),
      tracker_(options.qoe, &windows_),
      s10_(options.qoe.window_ms, options.keep_10s_ms),
      s60_(60000, options.keep_1m_ms),
      s300_(300000, options.keep_5m_ms) {
  windows_.AttachSlices(&slices_);
}

void PartitionQoe::Apply(const EventView& e) { tracker_.Apply(e); }

void PartitionQoe::AddClosed(int64_t start, const GroupCounts& counts) {
  s10_.Add(start, counts);
  s60_.Add(start, counts);
  s300_.Add(start, counts);
}

void PartitionQoe::AdvanceWatermark(int64_t watermark) {
  for (const auto& [start, counts] : windows_.TakeLate()) AddClosed(start, counts);
  if (watermark_ && watermark <= *watermark_) return;
  watermark_ = watermark;
  CloseWindows(watermark - options_.qoe.lateness_ms);
  const int64_t prune = slices_.SliceOf(watermark - slice_keep_ms_);
  if (pruned_before_ == kNothingPruned || prune > pruned_before_) {
    pruned_before_ = prune;
    slices_.PruneBefore(prune);
  }
}

// SreState::CloseWindows, for this partition's windows.
void PartitionQoe::CloseWindows(int64_t limit) {
  const int64_t step = options_.qoe.window_ms;
  for (;;) {
    int64_t start = windows_.closed_through();
    if (start == OpenWindows::kNothingClosed) {
      auto first = windows_.first_open();
      if (!first) return;
      start = *first;
    }
    if (start + step > limit) return;
    tracker_.ExpireBefore(start + step);
    for (auto& [s, counts] : windows_.CloseThrough(start + step)) AddClosed(s, counts);
  }
}

std::map<int64_t, GroupCounts> PartitionQoe::Slices(int64_t from, int64_t to) const {
  std::map<int64_t, GroupCounts> out;
  for (const auto& [start, counts] : slices_.Range(from, to)) out.emplace(start, *counts);
  return out;
}

const WindowSeries& PartitionQoe::SeriesOf(int64_t step_ms) const {
  if (step_ms <= s10_.step_ms()) return s10_;
  if (step_ms <= s60_.step_ms()) return s60_;
  return s300_;
}

Status PartitionQoe::Save(ops::CheckpointWriter* w, uint8_t first_kind) const {
  std::string out;
  auto section = [&](uint8_t i, auto&& fill) {
    out.clear();
    fill();
    return w->Section(static_cast<uint8_t>(first_kind + i), out);
  };
  VP_RETURN_IF_ERROR(section(0, [&] {
    for (int64_t v : ShapeOf(options_, slice_keep_ms_)) ops::bytes::PutSigned(&out, v);
    ops::bytes::PutU8(&out, watermark_.has_value() ? 1 : 0);
    ops::bytes::PutSigned(&out, watermark_.value_or(0));
    ops::bytes::PutSigned(&out, pruned_before_);
  }));
  VP_RETURN_IF_ERROR(section(1, [&] { tracker_.Save(&out); }));
  VP_RETURN_IF_ERROR(section(2, [&] { windows_.Save(&out); }));
  VP_RETURN_IF_ERROR(section(3, [&] { slices_.Save(&out); }));
  VP_RETURN_IF_ERROR(section(4, [&] { s10_.Save(&out); }));
  VP_RETURN_IF_ERROR(section(5, [&] { s60_.Save(&out); }));
  return section(6, [&] { s300_.Save(&out); });
}

Status PartitionQoe::Load(ops::CheckpointReader* r, uint8_t first_kind) {
  std::string payload;
  for (uint8_t i = 0; i < kSections; ++i) {
    uint8_t kind;
    VP_RETURN_IF_ERROR(r->Next(&kind, &payload));
    if (kind != first_kind + i) return Status::Corruption("sre shard: unexpected section");
    std::string_view in = payload;
    bool ok = false;
    switch (i) {
      case 0: {
        for (int64_t want : ShapeOf(options_, slice_keep_ms_)) {
          int64_t v;
          if (!ops::bytes::GetSigned(&in, &v)) return Status::Corruption("sre shard: short");
          if (v != want) return Status::Corruption("sre shard checkpoint of other options");
        }
        uint8_t has;
        int64_t w;
        ok = ops::bytes::GetU8(&in, &has) && ops::bytes::GetSigned(&in, &w) &&
             ops::bytes::GetSigned(&in, &pruned_before_);
        watermark_ = has != 0 ? std::optional<int64_t>(w) : std::nullopt;
        break;
      }
      case 1: ok = tracker_.Load(&in); break;
      case 2: ok = windows_.Load(&in); break;
      case 3: ok = slices_.Load(&in); break;
      case 4: ok = s10_.Load(&in); break;
      case 5: ok = s60_.Load(&in); break;
      case 6: ok = s300_.Load(&in); break;
    }
    if (!ok || !in.empty()) {
      return Status::Corruption("sre shard: bad section " + std::to_string(first_kind + i));
    }
  }
  return Status::OK();
}

}  // namespace viewpipe::sre
