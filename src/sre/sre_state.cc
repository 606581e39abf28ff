#include "sre/sre_state.h"

#include "ops/bytes.h"

namespace viewpipe::sre {
namespace {

// The options the saved state's shape depends on (window and slice sizes,
// what the series and the detector keep): a checkpoint of other ones is
// not restored (the state is rebuilt from the topic). First the format of
// the counts (QoeCounts gained longest_stall_ms in format 2: an older
// checkpoint, which began with the window size, is rebuilt too).
constexpr int64_t kCountsFormat = 2;
std::array<int64_t, 10> ShapeOf(const SreOptions& o) {
  return {kCountsFormat,
          o.qoe.window_ms,
          o.qoe.session_timeout_ms,
          o.detector.tick_ms,
          o.detector.span_ms,
          static_cast<int64_t>(o.detector.history),
          o.keep_10s_ms,
          o.keep_1m_ms,
          o.keep_5m_ms,
          o.qoe.lateness_ms};
}

}  // namespace

SreState::SreState(const SreOptions& options, AlertBook* book, Clock* clock)
    : options_(options),
      book_(book),
      clock_(clock),
      slices_(options.detector.tick_ms),
      windows_(options.qoe.window_ms),
      tracker_(options.qoe, &windows_),
      s10_(options.qoe.window_ms, options.keep_10s_ms),
      s60_(60000, options.keep_1m_ms),
      s300_(300000, options.keep_5m_ms),
      detector_(options.detector, book, clock) {
  windows_.AttachSlices(&slices_);
}

void SreState::Apply(const EventView& e) {
  std::lock_guard lock(mu_);
  tracker_.Apply(e);
}

void SreState::AdvanceWatermark(int64_t watermark) {
  std::lock_guard lock(mu_);
  for (const auto& [start, counts] : windows_.TakeLate()) {
    s10_.Add(start, counts);
    s60_.Add(start, counts);
    s300_.Add(start, counts);
  }
  if (watermark_ && watermark <= *watermark_) return;
  watermark_ = watermark;
  CloseWindows(watermark - options_.qoe.lateness_ms);
  RunTicks(watermark);
}

void SreState::CloseWindows(int64_t limit) {
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
    for (auto& [s, counts] : windows_.CloseThrough(start + step)) {
      s10_.Add(s, counts);
      s60_.Add(s, counts);
      s300_.Add(s, counts);
    }
  }
}

void SreState::RunTicks(int64_t watermark) {
  const DetectorOptions& d = options_.detector;
  if (next_tick_ == OutageDetector::kNever) {
    auto first = slices_.first();
    if (!first) return;
    next_tick_ = *first + d.tick_ms;
  }
  while (next_tick_ + d.tick_lateness_ms <= watermark) {
    detector_.OnTick(next_tick_, slices_.Range(next_tick_ - d.span_ms, next_tick_));
    next_tick_ += d.tick_ms;
    slices_.PruneBefore(next_tick_ - d.span_ms);
  }
  // Live, between ticks: raise what the data already show.
  if (d.partial_ms > 0 && watermark >= last_partial_ + d.partial_ms &&
      clock_->NowMs() - watermark <= d.partial_within_ms) {
    last_partial_ = watermark;
    detector_.OnPartialTick(watermark, slices_.Range(watermark - d.span_ms, watermark));
  }
}

const WindowSeries& SreState::SeriesFor(int64_t range_ms) const {
  if (range_ms <= s10_.keep_ms()) return s10_;
  if (range_ms <= s60_.keep_ms()) return s60_;
  return s300_;
}

std::optional<QoeReading> SreState::Read(std::optional<QoeDim> dim, int64_t window_ms) const {
  std::lock_guard lock(mu_);
  const int64_t as_of = windows_.closed_through();
  if (as_of == OpenWindows::kNothingClosed) return std::nullopt;
  const WindowSeries& series = SeriesFor(window_ms);
  QoeReading r;
  r.as_of = as_of;
  r.step_ms = series.step_ms();
  const int64_t from = as_of - window_ms;
  r.from = from - ((from % r.step_ms) + r.step_ms) % r.step_ms;
  auto total = series.Range(QoeDim::kTotal, r.from, as_of);
  if (!total.empty()) r.total = total.begin()->second;
  if (dim) r.groups = series.Range(*dim, r.from, as_of);
  return r;
}

std::map<int64_t, QoeCounts> SreState::Series(const GroupKey& g, int64_t step_ms,
                                              int64_t range_ms) const {
  std::lock_guard lock(mu_);
  const int64_t as_of = windows_.closed_through();
  if (as_of == OpenWindows::kNothingClosed) return {};
  const WindowSeries& s = step_ms <= s10_.step_ms() ? s10_ : step_ms <= 60000 ? s60_ : s300_;
  return s.Series(g, as_of - range_ms, as_of);
}

std::optional<int64_t> SreState::watermark() const {
  std::lock_guard lock(mu_);
  return watermark_;
}

int64_t SreState::closed_through() const {
  std::lock_guard lock(mu_);
  return windows_.closed_through();
}

QoeSessionTracker::Stats SreState::stats() const {
  std::lock_guard lock(mu_);
  return tracker_.stats();
}

size_t SreState::sessions() const {
  std::lock_guard lock(mu_);
  return tracker_.sessions();
}

Status SreState::Save(ops::CheckpointWriter* w, uint8_t first_kind) const {
  std::lock_guard lock(mu_);
  std::string out;
  auto section = [&](uint8_t i, auto&& fill) {
    out.clear();
    fill();
    return w->Section(static_cast<uint8_t>(first_kind + i), out);
  };
  VP_RETURN_IF_ERROR(section(0, [&] {
    for (int64_t v : ShapeOf(options_)) ops::bytes::PutSigned(&out, v);
    ops::bytes::PutU8(&out, watermark_.has_value() ? 1 : 0);
    ops::bytes::PutSigned(&out, watermark_.value_or(0));
    ops::bytes::PutSigned(&out, next_tick_);
  }));
  VP_RETURN_IF_ERROR(section(1, [&] { tracker_.Save(&out); }));
  VP_RETURN_IF_ERROR(section(2, [&] { windows_.Save(&out); }));
  VP_RETURN_IF_ERROR(section(3, [&] { slices_.Save(&out); }));
  VP_RETURN_IF_ERROR(section(4, [&] { s10_.Save(&out); }));
  VP_RETURN_IF_ERROR(section(5, [&] { s60_.Save(&out); }));
  VP_RETURN_IF_ERROR(section(6, [&] { s300_.Save(&out); }));
  return section(7, [&] { detector_.Save(&out); });
}

Status SreState::Load(ops::CheckpointReader* r, uint8_t first_kind) {
  std::lock_guard lock(mu_);
  Status st = r != nullptr ? LoadLocked(r, first_kind) : Status::Corruption("cleared");
  if (!st.ok()) ClearLocked();
  return st;
}

Status SreState::LoadLocked(ops::CheckpointReader* r, uint8_t first_kind) {
  std::string payload;
  for (uint8_t i = 0; i < kSections; ++i) {
    uint8_t kind;
    VP_RETURN_IF_ERROR(r->Next(&kind, &payload));
    if (kind != first_kind + i) return Status::Corruption("sre checkpoint: unexpected section");
    std::string_view in = payload;
    bool ok = false;
    switch (i) {
      case 0: {
        for (int64_t want : ShapeOf(options_)) {
          int64_t v;
          if (!ops::bytes::GetSigned(&in, &v)) return Status::Corruption("sre checkpoint: short");
          if (v != want) return Status::Corruption("sre checkpoint of other options");
        }
        uint8_t has;
        int64_t w;
        ok = ops::bytes::GetU8(&in, &has) && ops::bytes::GetSigned(&in, &w) &&
             ops::bytes::GetSigned(&in, &next_tick_);
        watermark_ = has != 0 ? std::optional<int64_t>(w) : std::nullopt;
        break;
      }
      case 1: ok = tracker_.Load(&in); break;
      case 2: ok = windows_.Load(&in); break;
      case 3: ok = slices_.Load(&in); break;
      case 4: ok = s10_.Load(&in); break;
      case 5: ok = s60_.Load(&in); break;
      case 6: ok = s300_.Load(&in); break;
      case 7: ok = detector_.Load(&in); break;
    }
    if (!ok || !in.empty()) {
      return Status::Corruption("sre checkpoint: bad section " + std::to_string(first_kind + i));
    }
  }
  return Status::OK();
}

void SreState::ClearLocked() {
  slices_ = RecentSlices(options_.detector.tick_ms);
  windows_ = OpenWindows(options_.qoe.window_ms);
  windows_.AttachSlices(&slices_);
  tracker_ = QoeSessionTracker(options_.qoe, &windows_);
  s10_ = WindowSeries(options_.qoe.window_ms, options_.keep_10s_ms);
  s60_ = WindowSeries(60000, options_.keep_1m_ms);
  s300_ = WindowSeries(300000, options_.keep_5m_ms);
  detector_ = OutageDetector(options_.detector, book_, clock_);
  watermark_.reset();
  next_tick_ = OutageDetector::kNever;
  last_partial_ = OutageDetector::kNever;
}

}  // namespace viewpipe::sre
