#include "lake/backfill.h"

#include <chrono>
#include <deque>
#include <string>

#include "lake/backfill_generator.h"

namespace viewpipe {
namespace {

// Copies of events whose views point into their own storage.
class EventCopies {
 public:
  void Add(const EventView& e) {
    std::string& blob = blobs_.emplace_back();
    size_t n = e.event_id.size() + e.session_id.size() + e.profile_id.size() +
               e.title_id.size() + e.country.size() + e.cdn.size() + e.os.size() +
               e.app_version.size() + e.isp.size() + e.error_code.size() + e.live_event_id.size();
    for (const auto& [k, v] : e.experiments) n += k.size() + v.size();
    blob.reserve(n);  // no reallocation below: the views stay valid
    auto keep = [&](std::string_view s) {
      size_t at = blob.size();
      blob.append(s);
      return std::string_view(blob.data() + at, s.size());
    };
    EventView c = e;
    c.event_id = keep(e.event_id);
    c.session_id = keep(e.session_id);
    c.profile_id = keep(e.profile_id);
    c.title_id = keep(e.title_id);
    c.country = keep(e.country);
    c.cdn = keep(e.cdn);
    c.os = keep(e.os);
    c.app_version = keep(e.app_version);
    c.isp = keep(e.isp);
    c.error_code = keep(e.error_code);
    c.live_event_id = keep(e.live_event_id);
    for (auto& [k, v] : c.experiments) {
      k = keep(k);
      v = keep(v);
    }
    views_.push_back(std::move(c));
  }
  const std::vector<EventView>& views() const { return views_; }
  void Clear() {
    blobs_.clear();
    views_.clear();
  }

 private:
  std::deque<std::string> blobs_;
  std::vector<EventView> views_;
};

}  // namespace

Result<BackfillProgress> RunBackfill(LakeWriter* writer, const BackfillOptions& options) {
  const auto t0 = std::chrono::steady_clock::now();
  BackfillWorld world;
  world.seed = options.seed;
  world.events_per_day = options.events_per_day;
  world.first_day = EventDate{options.end_day.days - options.days};
  world.end_day = options.end_day;
  BackfillGenerator generator(world);
  BackfillProgress progress;
  progress.total_days = options.days;
  EventCopies copies;
  for (EventDate d = world.first_day; d < world.end_day; d = d.Next()) {
    progress.date = d;
    auto ref = writer->root().days.find(d);
    bool done = false;
    if (ref != writer->root().days.end()) {
      auto day = writer->committer()->Day(d);
      if (!day.ok()) return day.status();
      done = day->backfill_seed == options.seed;
    }
    if (done) {
      ++progress.skipped_days;
    } else {
      const bool load = options.also_load && d >= options.also_load_from;
      Status st;
      bool chunked = false;
      int64_t n = generator.GenerateDay(d, [&](const EventView& e) {
        if (!st.ok()) return;
        auto added = writer->Add(e);
        if (!added.ok()) st = added.status();
        if (load) copies.Add(e);
        if (st.ok() && options.flush_rows > 0 && writer->buffered_rows() >= options.flush_rows) {
          st = writer->Flush(nullptr);
          chunked = true;
        }
      });
      VP_RETURN_IF_ERROR(st);
      if (load) {
        VP_RETURN_IF_ERROR(options.also_load(d, copies.views()));
        copies.Clear();
      }
      if (chunked) {
        VP_RETURN_IF_ERROR(writer->Flush(nullptr));
        VP_RETURN_IF_ERROR(writer->SealDay(d, options.seed));
        VP_RETURN_IF_ERROR(writer->CompactDay(d));
      } else {
        VP_RETURN_IF_ERROR(writer->FlushAndSeal(d, options.seed));
      }
      progress.events += n;
      progress.bytes += writer->root().days.at(d).bytes;  // after compaction
    }
    ++progress.done_days;
    progress.elapsed_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (options.progress) options.progress(progress);
  }
  return progress;
}

}  // namespace viewpipe
