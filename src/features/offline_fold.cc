#include "features/offline_fold.h"

#include <algorithm>

#include "features/feature_fold.h"

namespace viewpipe::features {
namespace {

const ProfileState kNoProfile;
const TitleState kNoTitle;

}  // namespace

Status OfflineFold::Run(EventSource* source, std::span<const LabelRow> labels,
                        const LabelFn& on_label) {
  VP_CHECK(
      std::is_sorted(labels.begin(), labels.end(),
                     [](const LabelRow& a, const LabelRow& b) { return a.label_ts < b.label_ts; }),
      "labels must be sorted by label_ts");
  const FeatureFold fold(catalog_);
  size_t next_label = 0;
  auto answer_until = [&](int64_t ts_exclusive) -> Status {
    while (next_label < labels.size() && labels[next_label].label_ts < ts_exclusive) {
      const LabelRow& l = labels[next_label++];
      auto p = profiles_.find(l.profile_id);
      auto t = titles_.find(l.title_id);
      VP_RETURN_IF_ERROR(on_label(l, p == profiles_.end() ? kNoProfile : p->second,
                                  t == titles_.end() ? kNoTitle : t->second));
    }
    return Status::OK();
  };
  int64_t last_ts = INT64_MIN;
  VP_RETURN_IF_ERROR(source->ForEach([&](const EventView& e) -> Status {
    VP_CHECK(e.ts_ms >= last_ts, "an EventSource must deliver events in ts order");
    last_ts = e.ts_ms;
    // Labels strictly before this event's time see the state without it.
    VP_RETURN_IF_ERROR(answer_until(e.ts_ms));
    fold.ApplyToProfile(e, &profiles_[std::string(e.profile_id)]);
    fold.ApplyToTitle(e, &sessions_[SessionKeyId(e.title_id, e.session_id)],
                      &titles_[std::string(e.title_id)]);
    catalog_misses_ += fold.MissesCatalog(e) ? 1 : 0;
    ++events_;
    return Status::OK();
  }));
  return answer_until(INT64_MAX);
}

}  // namespace viewpipe::features
