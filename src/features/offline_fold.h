#pragma once
// OfflineFold: the offline side of the features. It folds events delivered
// in event-time order ((ts, event_id), an EventSource) through the SAME
// FeatureFold as the streaming updater, and hands out point-in-time
// snapshots: a label at time L is answered after every event with ts <= L is
// folded and before any event with ts > L is, so a label never sees a later
// event (the leakage test in offline_fold_test.cc fails if it did).
// Thread compatible.

#include <functional>
#include <map>
#include <span>
#include <string>

#include "event/event.h"
#include "features/catalog_table.h"
#include "features/feature_state.h"

namespace viewpipe::features {

// Events in (ts, event_id) order.
class EventSource {
 public:
  virtual ~EventSource() = default;
  virtual Status ForEach(const std::function<Status(const EventView&)>& fn) = 0;
};

struct LabelRow {
  std::string profile_id;
  std::string title_id;
  int64_t label_ts = 0;
  std::string label;  // passed through
};

class OfflineFold {
 public:
  // The states an answered label sees (never null; empty when the key had
  // no event yet).
  using LabelFn = std::function<Status(const LabelRow&, const ProfileState&, const TitleState&)>;

  explicit OfflineFold(const CatalogTable* catalog) : catalog_(catalog) {}

  // Folds every event of source; answers labels (REQUIRES: sorted by
  // label_ts) at their time. Labels after the last event are answered at
  // the end.
  Status Run(EventSource* source, std::span<const LabelRow> labels, const LabelFn& on_label);

  const std::map<std::string, ProfileState>& profiles() const { return profiles_; }
  const std::map<std::string, TitleState>& titles() const { return titles_; }
  int64_t events() const { return events_; }
  int64_t catalog_misses() const { return catalog_misses_; }

 private:
  const CatalogTable* catalog_;
  std::map<std::string, ProfileState> profiles_;
  std::map<std::string, TitleState> titles_;
  std::map<std::string, SessionMark> sessions_;  // by SessionKeyId
  int64_t events_ = 0;
  int64_t catalog_misses_ = 0;
};

}  // namespace viewpipe::features
