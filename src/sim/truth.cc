#include "sim/truth.h"

#include <algorithm>

#include "common/json_writer.h"
#include "common/status.h"

namespace viewpipe::sim {
namespace {

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

}  // namespace

ConcurrencyTruth::ConcurrencyTruth(std::array<std::vector<std::string>, kDimCount> names,
                                   int64_t first_second, LineSink sink)
    : names_(std::move(names)), next_second_(first_second), sink_(std::move(sink)) {
  for (size_t d = 0; d < kDimCount; ++d) {
    offset_[d] = static_cast<uint32_t>(width_);
    width_ += names_[d].size();
  }
  ring_.assign(static_cast<size_t>(kRing) * width_, 0);
  counts_.assign(width_, 0);
}

void ConcurrencyTruth::Add(int64_t second, const TruthKeys& keys, int32_t delta) {
  if (second < next_second_) return;  // before the first second: not counted
  VP_CHECK(second < next_second_ + kRing, "truth: event too far ahead of the finished seconds");
  int32_t* row = &ring_[static_cast<size_t>(second % kRing) * width_];
  row[0] += delta;
  for (size_t d = 0; d < kDimCount; ++d) {
    if (d == kDimLiveEvent && keys[d] == 0) continue;
    VP_CHECK(keys[d] < names_[d].size(), "truth: key out of range");
    row[offset_[d] + keys[d]] += delta;
  }
}

void ConcurrencyTruth::OnEvent(TruthSessionState* s, const TruthKeys& keys, int64_t ts,
                               EventType type, bool fatal) {
  const int64_t sec = FloorDiv(ts, 1000);
  VP_CHECK(sec >= next_second_, "truth: event older than the finished seconds");
  // The previous event's contribution ends where this event takes over.
  if (s->open_end_sec != TruthSessionState::kNone && sec < s->open_end_sec) {
    Add(sec, keys, -1);
    Add(s->open_end_sec, keys, +1);
  }
  s->open_end_sec = TruthSessionState::kNone;
  if (type == EventType::kAttempt || type == EventType::kPlayStart) s->started = true;
  const bool terminal = type == EventType::kStop || (type == EventType::kError && fatal);
  if (terminal || !s->started) return;
  // Counted at every t = s*1000+999 with ts <= t <= ts + 30000.
  const int64_t end = FloorDiv(ts + 30001, 1000);
  const int64_t begin = std::max(sec, next_second_);
  if (begin >= end) return;
  Add(begin, keys, +1);
  Add(end, keys, -1);
  s->open_end_sec = end;
}

void ConcurrencyTruth::FinishBefore(int64_t second) {
  while (next_second_ < second) {
    int32_t* row = &ring_[static_cast<size_t>(next_second_ % kRing) * width_];
    for (size_t i = 0; i < width_; ++i) {
      counts_[i] += row[i];
      row[i] = 0;
    }
    WriteLine(next_second_);
    ++next_second_;
  }
}

void ConcurrencyTruth::WriteLine(int64_t second) {
  if (!sink_) return;
  line_.clear();
  line_ += "{\"at\":";
  AppendJsonInt(&line_, second * 1000);
  line_ += ",\"t\":";
  AppendJsonInt(&line_, second * 1000 + 999);
  line_ += ",\"total\":";
  AppendJsonInt(&line_, counts_[0]);
  for (size_t d = 0; d < kDimCount; ++d) {
    line_ += ",\"";
    line_ += kTruthDimNames[d];
    line_ += "\":{";
    bool first = true;
    for (size_t k = 0; k < names_[d].size(); ++k) {
      const int64_t n = counts_[offset_[d] + k];
      if (n == 0) continue;
      if (!first) line_ += ',';
      first = false;
      AppendJsonString(&line_, names_[d][k]);
      line_ += ':';
      AppendJsonInt(&line_, n);
    }
    line_ += '}';
  }
  line_ += "}\n";
  sink_(line_);
}

}  // namespace viewpipe::sim
