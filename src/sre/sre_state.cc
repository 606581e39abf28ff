#include "sre/sre_state.h"

namespace viewpipe::sre {

SreState::SreState(const SreOptions& options, AlertBook* book, Clock* clock)
    : options_(options),
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

}  // namespace viewpipe::sre
