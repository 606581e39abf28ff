#include "features/offline_fold.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "features/feature_fold.h"
#include "features/feature_vector.h"
#include "features/features_test_util.h"

namespace viewpipe::features {
namespace {

using testing::kT0;

class VectorSource final : public EventSource {
 public:
  explicit VectorSource(std::vector<EventView> events) : events_(std::move(events)) {
    std::sort(events_.begin(), events_.end(), [](const EventView& a, const EventView& b) {
      return std::tie(a.ts_ms, a.event_id) < std::tie(b.ts_ms, b.event_id);
    });
  }
  Status ForEach(const std::function<Status(const EventView&)>& fn) override {
    for (const EventView& e : events_) VP_RETURN_IF_ERROR(fn(e));
    return Status::OK();
  }

 private:
  std::vector<EventView> events_;
};

std::string Features(const ProfileState& p, const TitleState& t, int64_t at) {
  std::string out;
  AppendProfileJson("p", EvaluateProfile(p, at), &out);
  AppendTitleJson("t", EvaluateTitle(t, at), &out);
  return out;
}

// The leakage test: a label strictly before an event must not see it; a
// label at the event's time sees it (as of T includes ts == T).
TEST(OfflineFoldTest, ALabelNeverSeesALaterEvent) {
  const CatalogTable catalog = testing::TestCatalog();
  testing::EventFactory f;
  std::vector<EventView> events = {
      f.Make(EventType::kAttempt, kT0 + 1000, "p1", "t1"),
      f.Make(EventType::kPlayStart, kT0 + 5000, "p1", "t1"),
      f.Make(EventType::kHeartbeat, kT0 + 9000, "p1", "t1"),
  };
  std::vector<LabelRow> labels = {{"p1", "t1", kT0 + 4999, "before"},
                                  {"p1", "t1", kT0 + 5000, "at"},
                                  {"p1", "t1", kT0 + 8999, "between"},
                                  {"p1", "t1", kT0 + 99999, "after all"}};
  VectorSource source(events);
  OfflineFold fold(&catalog);
  std::map<std::string, std::pair<ProfileFeatures, TitleFeatures>> seen;
  ASSERT_TRUE(
      fold.Run(&source, labels,
               [&](const LabelRow& l, const ProfileState& p, const TitleState& t) {
                 seen[l.label] = {EvaluateProfile(p, l.label_ts), EvaluateTitle(t, l.label_ts)};
                 return Status::OK();
               })
          .ok());
  ASSERT_EQ(seen.size(), 4u);
  EXPECT_EQ(seen["before"].second.plays_1h, 0);
  EXPECT_EQ(seen["before"].first.last_active_ms, kT0 + 1000);
  EXPECT_EQ(seen["at"].second.plays_1h, 1);
  EXPECT_EQ(seen["at"].first.last_active_ms, kT0 + 5000);
  EXPECT_TRUE(seen["between"].first.watch_seconds_7d.empty());
  EXPECT_EQ(seen["after all"].first.watch_seconds_7d.at("drama"), 10);
  EXPECT_EQ(fold.events(), 3);
}

// Every label's features equal a from-scratch fold of exactly the events
// with ts <= label time (brute force), for random data.
TEST(OfflineFoldTest, PointInTimeEqualsRecomputingFromTheEventsBeforeTheLabel) {
  const CatalogTable catalog = testing::TestCatalog();
  const FeatureFold fold_def(&catalog);
  testing::EventFactory f;
  std::mt19937_64 rng(11);
  std::vector<EventView> events;
  const EventType types[] = {EventType::kAttempt, EventType::kPlayStart, EventType::kHeartbeat,
                             EventType::kStop};
  for (int i = 0; i < 600; ++i) {
    EventView e = f.Make(types[rng() % 4], kT0 + static_cast<int64_t>(rng() % 7200000),
                         "p" + std::to_string(rng() % 3), "t" + std::to_string(1 + rng() % 3),
                         "s" + std::to_string(rng() % 20));
    e.position_ms = static_cast<int64_t>(rng() % 4000000);
    events.push_back(e);
  }
  std::vector<LabelRow> labels;
  for (int i = 0; i < 40; ++i) {
    labels.push_back({"p" + std::to_string(rng() % 3), "t" + std::to_string(1 + rng() % 3),
                      kT0 + static_cast<int64_t>(rng() % 7300000), std::to_string(i)});
  }
  std::sort(events.begin(), events.end(), [](const EventView& a, const EventView& b) {
    return std::tie(a.ts_ms, a.event_id) < std::tie(b.ts_ms, b.event_id);
  });
  labels.push_back({"p0", "t1", events[5].ts_ms, "tie"});  // exactly at an event
  std::sort(labels.begin(), labels.end(),
            [](const LabelRow& a, const LabelRow& b) { return a.label_ts < b.label_ts; });
  VectorSource source(events);
  OfflineFold fold(&catalog);
  int answered = 0;
  ASSERT_TRUE(fold.Run(&source, labels,
                       [&](const LabelRow& l, const ProfileState& p, const TitleState& t) {
                         ProfileState bp;
                         TitleState bt;
                         std::map<std::string, SessionMark> marks;
                         for (const EventView& e : events) {
                           if (e.ts_ms > l.label_ts) continue;
                           if (e.profile_id == l.profile_id) fold_def.ApplyToProfile(e, &bp);
                           if (e.title_id != l.title_id) continue;
                           fold_def.ApplyToTitle(e, &marks[std::string(e.session_id)], &bt);
                         }
                         EXPECT_EQ(Features(p, t, l.label_ts), Features(bp, bt, l.label_ts))
                             << "label " << l.label;
                         ++answered;
                         return Status::OK();
                       })
                  .ok());
  EXPECT_EQ(answered, static_cast<int>(labels.size()));
}

}  // namespace
}  // namespace viewpipe::features
