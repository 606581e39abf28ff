#include "sre/open_windows.h"

#include "ops/bytes.h"
#include "sre/sre_codec.h"

namespace viewpipe::sre {
namespace {

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

}  // namespace

int64_t OpenWindows::WindowOf(int64_t ts) const { return FloorDiv(ts, window_ms_) * window_ms_; }

GroupCounts* OpenWindows::Window(int64_t ts) {
  const int64_t w = WindowOf(ts);
  if (closed_through_ != kNothingClosed && w < closed_through_) return nullptr;
  return &open_[w];
}

std::vector<std::pair<int64_t, GroupCounts>> OpenWindows::CloseThrough(int64_t limit) {
  std::vector<std::pair<int64_t, GroupCounts>> out;
  if (closed_through_ == kNothingClosed) {
    if (open_.empty()) return out;
    closed_through_ = open_.begin()->first;
  }
  while (closed_through_ + window_ms_ <= limit) {
    auto it = open_.begin();
    if (it != open_.end() && it->first == closed_through_) {
      out.emplace_back(it->first, std::move(it->second));
      open_.erase(it);
    } else {
      out.emplace_back(closed_through_, GroupCounts{});
    }
    closed_through_ += window_ms_;
  }
  return out;
}

void OpenWindows::Save(std::string* out) const {
  ops::bytes::PutSigned(out, closed_through_);
  codec::PutTimedCounts(out, open_);
  codec::PutTimedCounts(out, late_);
}

bool OpenWindows::Load(std::string_view* in) {
  return ops::bytes::GetSigned(in, &closed_through_) && codec::GetTimedCounts(in, &open_) &&
         codec::GetTimedCounts(in, &late_);
}

}  // namespace viewpipe::sre
