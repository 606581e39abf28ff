// SreGroupProcessor (partgroup::GroupProcessor<PartitionQoe>) on a real
// FileLog (2 partitions of qoe) and a LocalObjectStore as the shared store:
// a partition handed over mid-stream (checkpointed by its last owner,
// restored by the next) ends with the same state as in a processor that
// owned everything from the start; a record fetched before the seek is
// skipped; the metrics keep the sre path's names and help texts.
#include "sregroup/sre_group_processor.h"

#include <gtest/gtest.h>

#include <deque>

#include "common/scoped_temp_dir.h"
#include "lake/local_object_store.h"
#include "partgroup/group_test_util.h"
#include "sre/sre_test_util.h"

namespace viewpipe::sre {
namespace {

using testing::Ev;

constexpr int64_t kGroupT0 = 1700000000000;
constexpr int kQoePartitions = 2;

// One simulated process of the group.
using SreMember =
    partgroup::testing::Member<SreShards, SreShardCheckpoints, SreGroupProcessor>;

class SreGroupProcessorTest : public ::testing::Test {
 protected:
  SreGroupProcessorTest()
      : clock_(kGroupT0 + 3600 * 1000), store_(Env::Default(), JoinPath(tmp_.path(), "shared")) {
    log_ = partgroup::testing::OpenGroupLog(JoinPath(tmp_.path(), "log"), &clock_, "qoe",
                                            kQoePartitions);
    Produce();
  }

  // 400 sessions over ~5 minutes: attempt, start, heartbeats, a stall, stop.
  void Produce() {
    std::deque<std::string> ids;
    std::vector<Ev> events;
    for (int i = 0; i < 400; ++i) {
      const char* s = ids.emplace_back("g" + std::to_string(i)).c_str();
      const char* cdn = i % 3 == 0 ? "cdn-b" : "cdn-a";
      const int64_t t = kGroupT0 + (i * 7919) % 300000;
      events.emplace_back(EventType::kAttempt, t, s, cdn);
      events.emplace_back(EventType::kPlayStart, t + 900, s, cdn).Startup(900).Bitrate(3000);
      for (int b = 1; b <= i % 7; ++b) {
        events.emplace_back(EventType::kHeartbeat, t + 900 + b * 10000, s, cdn).Bitrate(3000);
      }
      if (i % 5 == 0) events.emplace_back(EventType::kRebufferStart, t + 1500, s, cdn);
      if (i % 5 == 0) events.emplace_back(EventType::kRebufferEnd, t + 2500, s, cdn).Rebuffer(1000);
      events.emplace_back(EventType::kStop, t + 80000, s, cdn);
    }
    std::stable_sort(events.begin(), events.end(),
                     [](const Ev& a, const Ev& b) { return a.v.ts_ms < b.v.ts_ms; });
    std::vector<EventView> views;
    for (const Ev& e : events) views.push_back(e.v);
    partgroup::testing::AppendEvents(log_.get(), "qoe", views);
  }

  SreMember NewMember(const std::string& name, MetricsRegistry* metrics = nullptr) {
    auto checkpoints = std::make_unique<SreShardCheckpoints>(
        &store_, Env::Default(), JoinPath(tmp_.path(), name + "-scratch"), options_, 120000);
    return SreMember::Make(std::make_unique<SreShards>(), std::move(checkpoints), log_.get(),
                           "qoe", &clock_, metrics, options_);
  }
  void Reassign(SreMember* m, std::vector<PartitionId> lost, std::vector<PartitionId> gained) {
    partgroup::testing::ReassignTracked(m->processor.get(), lost, gained, &m->next);
  }
  void Feed(SreMember* m, double fraction) {
    partgroup::testing::FeedInterleaved(log_.get(), "qoe", m->processor.get(), &m->next,
                                        fraction, 41);
  }

  ScopedTempDir tmp_;
  ManualClock clock_;
  LocalObjectStore store_;
  std::unique_ptr<FileLog> log_;
  SreOptions options_;
};

// Everything a partition's state answers with, to compare two of them.
struct Seen {
  size_t sessions;
  std::optional<int64_t> watermark;
  int64_t closed_through;
  std::map<int64_t, GroupCounts> slices;
  bool operator==(const Seen&) const = default;
};
Seen SeenOf(const SreShard& s) {
  return {s.state->sessions(), s.state->watermark(), s.state->closed_through(),
          s.state->Slices(INT64_MIN, INT64_MAX)};
}

// A partition's state depends on the watermarks it was given (the minimum
// over the partitions its owner holds, after each batch), so the reference
// owns partition 1 alone, as a and b do while they hold it, and reads it in
// the same batches.
TEST_F(SreGroupProcessorTest, HandOverEndsWithTheStateOfOneOwner) {
  SreMember whole = NewMember("whole");
  Reassign(&whole, {}, {1});
  for (double f : {0.4, 0.6, 1.0}) Feed(&whole, f);  // the batches a and b get

  MetricsRegistry metrics_a, metrics_b;
  SreMember a = NewMember("a", &metrics_a);
  Reassign(&a, {}, {0, 1});  // no checkpoint yet: both from the start
  Reassign(&a, {0}, {});
  Feed(&a, 0.4);
  ASSERT_TRUE(a.processor->Checkpoint(a.next).ok());
  Feed(&a, 0.6);
  const Offset a_at = a.next.at(1);
  SreMember b = NewMember("b", &metrics_b);
  Reassign(&a, {1}, {});  // checkpointed on the way out, at a_at
  Reassign(&b, {}, {1});
  EXPECT_EQ(b.next.at(1), a_at);
  EXPECT_TRUE(a.shards->Owned().empty());
  // A record fetched before the seek is skipped, not applied twice.
  auto reader = log_->NewReader("qoe", 1, a_at - 1);
  std::vector<ConsumedRecord> stale;
  ASSERT_TRUE((*reader)->Read(1, &stale).ok());
  ASSERT_TRUE(b.processor->Process(stale).ok());
  EXPECT_EQ(b.processor->duplicates_skipped(), 1u);
  Feed(&b, 1.0);
  const SreShard& want = whole.shards->owner_view().at(1);
  EXPECT_EQ(SeenOf(b.shards->owner_view().at(1)), SeenOf(want));
  EXPECT_GT(want.state->Slices(INT64_MIN, INT64_MAX).size(), 10u);

  const std::string a_text = metrics_a.RenderPrometheus();
  const std::string b_text = metrics_b.RenderPrometheus();
  for (const char* line :
       {"# HELP viewpipe_sre_events_total Events applied by the SRE path",
        "# HELP viewpipe_sre_corrupt_records_total Records of the qoe topic the SRE path could "
        "not decode",
        "# HELP viewpipe_sre_partition_handovers_total Partitions of qoe this SRE process took "
        "over",
        "# HELP viewpipe_sre_partitions_owned Partitions of qoe this SRE process counts",
        "# HELP viewpipe_sre_watermark_ms The SRE watermark (event time)",
        "# HELP viewpipe_sre_checkpoint_seconds Time to write one SRE checkpoint",
        "viewpipe_sre_partition_handovers_total{outcome=\"rebuild\"} 2",
        "viewpipe_sre_partitions_owned 0"}) {
    EXPECT_NE(a_text.find(line), std::string::npos) << line << "\n" << a_text;
  }
  EXPECT_NE(b_text.find("viewpipe_sre_partition_handovers_total{outcome=\"checkpoint\"} 1"),
            std::string::npos)
      << b_text;
  EXPECT_NE(a_text.find("viewpipe_sre_checkpoint_seconds_bucket{le=\"0.25\"}"), std::string::npos);
}

TEST_F(SreGroupProcessorTest, CheckpointsKeepTheirKeys) {
  EXPECT_EQ(SreShardCheckpoints::Key(1), "sre/partitions/1/checkpoint");
  SreMember a = NewMember("a");
  Reassign(&a, {}, {0, 1});
  Feed(&a, 0.5);
  ASSERT_TRUE(a.processor->Checkpoint(a.next).ok());
  for (PartitionId p = 0; p < kQoePartitions; ++p) {
    EXPECT_TRUE(store_.Get("sre/partitions/" + std::to_string(p) + "/checkpoint").ok()) << p;
  }
  // A damaged object is Corruption, and its partition is rebuilt.
  auto data = store_.Get(SreShardCheckpoints::Key(1));
  ASSERT_TRUE(data.ok());
  SreMember b = NewMember("b");
  auto loaded = b.checkpoints->Load(1);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(loaded->next, a.next.at(1));
  ASSERT_TRUE(store_.Put(SreShardCheckpoints::Key(1), data->substr(0, data->size() / 2)).ok());
  EXPECT_TRUE(b.checkpoints->Load(1).status().IsCorruption());
  Reassign(&b, {}, {0, 1});  // damaged: rebuilt from the start of the log
  EXPECT_EQ(b.next.at(1), 0);
  EXPECT_EQ(b.next.at(0), a.next.at(0));
}

}  // namespace
}  // namespace viewpipe::sre
