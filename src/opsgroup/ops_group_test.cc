// The ops group's hand-over and merge logic on a real FileLog (4 partitions)
// and a LocalObjectStore as the shared store: processes are simulated by
// processors that each read only the partitions they own. The reference is
// the one-process ops path (OpsProcessor) over the same log: the group must
// count exactly what it counts, for every second and every dimension value.

#include <gtest/gtest.h>
#include <httplib.h>

#include <random>
#include <thread>

#include "common/scoped_temp_dir.h"
#include "event/codec.h"
#include "lake/local_object_store.h"
#include "log/file_log.h"
#include "ops/bytes.h"
#include "ops/checkpoint_file.h"
#include "ops/ops_processor.h"
#include "ops/ops_test_util.h"
#include "partgroup/group_members.h"
#include "partgroup/group_test_util.h"
#include "opsgroup/merged_reader.h"
#include "opsgroup/ops_group_processor.h"
#include "opsgroup/ops_group_routes.h"

namespace viewpipe::ops {
namespace {

using testing::TestEvent;

constexpr int64_t kB = 1700000000;
constexpr int64_t kMs = kB * 1000;
constexpr int kPartitions = 4;
using Dumped = std::map<std::string, std::vector<int64_t>>;

// Every count of every key over [from, to], added into *out by key name.
void AddDump(const SessionTracker& t, int64_t from, int64_t to, Dumped* out) {
  auto dump = [&](const std::string& name, ViewerSeries::KeyId k) {
    std::vector<int64_t>& v = (*out)[name];
    v.resize(static_cast<size_t>(to - from + 1));
    for (int64_t s = from; s <= to; ++s) v[static_cast<size_t>(s - from)] += t.series().At(k, s);
  };
  dump("total", ViewerSeries::kTotal);
  for (Dimension d : kAllDimensions) {
    for (uint32_t id = 0; id < t.keys().size(d); ++id) {
      dump(std::string(DimensionName(d)) + "=" + t.keys().names(d).Name(id), t.keys().Key(d, id));
    }
  }
}

// One simulated process of the group.
using Member = partgroup::testing::Member<PartitionShards, ShardCheckpoints, OpsGroupProcessor>;

class OpsGroupTest : public ::testing::Test {
 protected:
  OpsGroupTest() : clock_(kMs + 3600 * 1000), store_(Env::Default(), JoinPath(tmp_.path(), "shared")) {
    log_ = partgroup::testing::OpenGroupLog(JoinPath(tmp_.path(), "log"), &clock_, "viewing",
                                            kPartitions);
    options_.background_checkpoint = false;
    Produce();
  }

  // 300 sessions over ~5 minutes, a few events late (< 4 min), some twice.
  void Produce() {
    std::mt19937 rng(7);
    std::vector<TestEvent> events;
    for (int i = 0; i < 300; ++i) {
      TestEvent e;
      e.session = "s" + std::to_string(i);
      e.title = "t" + std::to_string(i % 9);
      e.country = i % 3 == 0 ? "DE" : (i % 3 == 1 ? "US" : "BR");
      e.cdn = i % 4 == 0 ? "cdn-b" : "cdn-a";
      e.live = i % 5 == 0 ? "final" : "";
      int64_t ts = kMs + static_cast<int64_t>(rng() % 300000);
      e.type = EventType::kAttempt;
      e.ts = ts;
      events.push_back(e);
      for (int b = 0, n = static_cast<int>(rng() % 40); b < n; ++b) {
        ts += 9000 + static_cast<int64_t>(rng() % 2000) + (rng() % 20 == 0 ? 40000 : 0);
        e.type = b == 0 ? EventType::kPlayStart : EventType::kHeartbeat;
        e.ts = ts;
        events.push_back(e);
      }
      e.type = rng() % 4 == 0 ? EventType::kError : EventType::kStop;
      e.fatal = true;
      e.ts = ts + 3000;
      events.push_back(e);
    }
    for (TestEvent& e : events) {
      e.received_at = e.ts + (rng() % 100 < 3 ? static_cast<int64_t>(rng() % 240000) : 200);
    }
    std::stable_sort(events.begin(), events.end(), [](const TestEvent& a, const TestEvent& b) {
      return a.received_at < b.received_at;
    });
    std::vector<EventView> views;
    for (const TestEvent& e : events) views.push_back(e.View());
    partgroup::testing::AppendEvents(log_.get(), "viewing", views);
  }

  // What the one-process ops path counts over the whole log.
  Dumped Reference() {
    OpsState state(options_.tracker);
    OpsProcessor p(log_.get(), "viewing", &state, Env::Default(), JoinPath(tmp_.path(), "ref"),
                   &clock_, nullptr, options_);
    auto offsets = p.Restore();
    EXPECT_TRUE(offsets.ok());
    auto consumer = log_->Subscribe("ref", "viewing");
    EXPECT_TRUE(consumer.ok());
    for (;;) {
      auto records = (*consumer)->Poll(64, std::chrono::milliseconds(0));
      EXPECT_TRUE(records.ok());
      if (records->empty()) break;
      EXPECT_TRUE(p.Process(*records).ok());
    }
    EXPECT_EQ(state.owner_view().stats().late_beyond_bound, 0u);
    Dumped out;
    AddDump(state.owner_view(), kB - 1, kB + 900, &out);
    return out;
  }

  Member NewMember(const std::string& name, MetricsRegistry* metrics = nullptr) {
    return Member::Make(std::make_unique<PartitionShards>(options_.tracker),
                        std::make_unique<ShardCheckpoints>(
                            &store_, Env::Default(), JoinPath(tmp_.path(), name + "-scratch"),
                            options_.tracker),
                        log_.get(), "viewing", &clock_, metrics, options_);
  }
  void Reassign(Member* m, std::vector<PartitionId> lost, std::vector<PartitionId> gained) {
    partgroup::testing::ReassignTracked(m->processor.get(), lost, gained, &m->next);
  }
  // Feeds m its partitions' records up to fraction of each partition, in
  // batches that interleave the partitions (as a consumer does).
  void Feed(Member* m, double fraction) {
    partgroup::testing::FeedInterleaved(log_.get(), "viewing", m->processor.get(), &m->next,
                                        fraction, 37);
  }
  Dumped Merged(const std::vector<Member*>& members) {
    Dumped out;
    for (Member* m : members) {
      for (const auto& [p, s] : m->shards->owner_view()) {
        AddDump(*s.state, kB - 1, kB + 900, &out);
      }
    }
    return out;
  }

  ScopedTempDir tmp_;
  ManualClock clock_;
  LocalObjectStore store_;
  std::unique_ptr<FileLog> log_;
  OpsOptions options_;
};

TEST_F(OpsGroupTest, HandOverAfterAKillCountsExactlyWhatOneProcessCounts) {
  const Dumped expected = Reference();
  ASSERT_GT(expected.at("total")[200], 10);
  Member a = NewMember("a");
  Reassign(&a, {}, {0, 1, 2, 3});  // alone in the group: everything, from the start
  for (PartitionId p = 0; p < kPartitions; ++p) EXPECT_EQ(a.next[p], 0);
  Feed(&a, 0.3);
  ASSERT_TRUE(a.processor->Checkpoint(a.next).ok());
  Feed(&a, 0.4);

  // b joins: a hands 2 and 3 over with their state as they are now.
  Member b = NewMember("b");
  const auto a_at = a.next;
  Reassign(&a, {2, 3}, {});
  Reassign(&b, {}, {2, 3});
  EXPECT_EQ(b.next[2], a_at.at(2));
  EXPECT_EQ(b.next[3], a_at.at(3));
  EXPECT_EQ(a.shards->Owned(), (std::vector<PartitionId>{0, 1}));
  Feed(&a, 0.7);
  Feed(&b, 0.6);
  ASSERT_TRUE(b.processor->Checkpoint(b.next).ok());
  const auto b_checkpointed = b.next;
  Feed(&b, 0.8);  // never checkpointed: lost with b

  // kill -9 of b: its partitions come back to a from b's last checkpoint.
  const auto b_at = b.next;
  b = Member();
  Reassign(&a, {}, {2, 3});
  EXPECT_EQ(a.next[2], b_checkpointed.at(2));
  EXPECT_EQ(a.next[3], b_checkpointed.at(3));
  EXPECT_LT(a.next[2], b_at.at(2));
  // A record fetched before the seek (below the restored offset) is skipped.
  auto reader = log_->NewReader("viewing", 2, a.next[2] - 1);
  std::vector<ConsumedRecord> stale;
  ASSERT_TRUE((*reader)->Read(1, &stale).ok());
  ASSERT_TRUE(a.processor->Process(stale).ok());
  EXPECT_EQ(a.processor->duplicates_skipped(), 1u);
  Feed(&a, 1.0);
  EXPECT_EQ(Merged({&a}), expected);
}

TEST_F(OpsGroupTest, DamagedCheckpointIsRebuiltFromTheLog) {
  const Dumped expected = Reference();
  Member a = NewMember("a");
  Reassign(&a, {}, {0, 1, 2, 3});
  Feed(&a, 0.5);
  ASSERT_TRUE(a.processor->Checkpoint(a.next).ok());
  ASSERT_TRUE(store_.Put(ShardCheckpoints::Key(1), "VPOPSCK1 damaged").ok());
  a = Member();
  Member b = NewMember("b");
  Reassign(&b, {}, {0, 1, 2, 3});
  EXPECT_GT(b.next[0], 0);
  EXPECT_EQ(b.next[1], 0);  // rebuilt
  Feed(&b, 1.0);
  EXPECT_EQ(Merged({&b}), expected);
}

// Two members behind HTTP: any member answers for all partitions, exactly;
// a member that stopped answering makes the answer 503, naming its partitions.
TEST_F(OpsGroupTest, MergedReadsOverHttpAreExactAndNameMissingPartitions) {
  const Dumped expected = Reference();
  Member a = NewMember("a"), b = NewMember("b");
  Reassign(&a, {}, {0, 2});
  Reassign(&b, {}, {1, 3});
  Feed(&a, 1.0);
  Feed(&b, 1.0);
  httplib::Server server_b;
  partgroup::GroupMembers members_b(&store_, &clock_, "b", "");
  MergedReader reader_b(b.shards.get(), &members_b, kPartitions);
  OpsGroupRoutes routes_b(b.shards.get(), &reader_b, "b", 1, nullptr);
  routes_b.Register(&server_b);
  const int port = server_b.bind_to_any_port("127.0.0.1");
  std::thread serving([&] { server_b.listen_after_bind(); });
  partgroup::GroupMembers members_a(&store_, &clock_, "a", "http://127.0.0.1:1");
  partgroup::GroupMembers announce_b(&store_, &clock_, "b",
                                     "http://127.0.0.1:" + std::to_string(port));
  ASSERT_TRUE(members_a.Publish({0, 2}).ok());
  ASSERT_TRUE(announce_b.Publish({1, 3}).ok());
  MergedReader reader(a.shards.get(), &members_a, kPartitions);

  const std::vector<Dimension> dims = {Dimension::kCountry, Dimension::kCdn};
  for (int64_t s : {kB + 60, kB + 200, kB + 333}) {
    const MergedAnswer got = reader.Counts(MergedReader::Mode::kAt, s, dims, "");
    ASSERT_EQ(got.status, 200) << got.error;
    const size_t i = static_cast<size_t>(s - (kB - 1));
    EXPECT_EQ(got.total, expected.at("total")[i]) << s;
    for (Dimension d : dims) {
      int64_t sum = 0;
      for (const auto& [key, v] : got.groups[Index(d)]) {
        EXPECT_EQ(v, expected.at(std::string(DimensionName(d)) + "=" + key)[i]) << key;
        sum += v;
      }
      EXPECT_EQ(sum, got.total);  // every session has one value of each
    }
  }
  const MergedAnswer newest = reader.Counts(MergedReader::Mode::kNewest, 0, {}, "");
  ASSERT_EQ(newest.status, 200);
  const MergedAnswer series = reader.Series(Dimension::kCountry, "DE", kB + 10, kB + 400, 10, "");
  ASSERT_EQ(series.status, 200) << series.error;
  ASSERT_EQ(series.points.size(), 40u);
  for (const auto& [s, v] : series.points) {
    EXPECT_EQ(v, expected.at("country=DE")[static_cast<size_t>(s - (kB - 1))]) << s;
  }
  const MergedAnswer live = reader.Counts(MergedReader::Mode::kLive, 0, dims, "");
  ASSERT_EQ(live.status, 200) << live.error;
  EXPECT_GE(live.second, newest.second);
  EXPECT_EQ(live.complete, live.second <= newest.second);
  const MergedAnswer outside = reader.Counts(MergedReader::Mode::kAt, kB + 100000, {}, "");
  EXPECT_EQ(outside.status, 400);

  server_b.stop();
  serving.join();
  clock_.Advance(1000);  // past the member cache
  std::this_thread::sleep_for(std::chrono::milliseconds(600));
  const MergedAnswer short_of_b = reader.Counts(MergedReader::Mode::kNewest, 0, {}, "");
  EXPECT_EQ(short_of_b.status, 503);
  EXPECT_NE(short_of_b.error.find("partitions 1, 3 of 4"), std::string::npos) << short_of_b.error;
}

// What other processes, older checkpoints and dashboards rely on: the
// objects' keys and shard section, the metrics' names and help texts.
TEST_F(OpsGroupTest, CheckpointObjectsAndMetricsKeepTheirNames) {
  EXPECT_EQ(ShardCheckpoints::Key(2), "ops/partitions/2/checkpoint");
  MetricsRegistry metrics;
  Member a = NewMember("a", &metrics);
  Reassign(&a, {}, {0, 1, 2, 3});
  Feed(&a, 0.5);
  ASSERT_TRUE(a.processor->Checkpoint(a.next).ok());
  auto data = store_.Get("ops/partitions/2/checkpoint");
  ASSERT_TRUE(data.ok()) << data.status().ToString();
  const std::string copy = JoinPath(tmp_.path(), "copy");
  ASSERT_TRUE(Env::Default()->WriteFileAtomic(copy, *data).ok());
  auto reader = CheckpointReader::Open(Env::Default(), copy);
  ASSERT_TRUE(reader.ok());
  uint8_t kind;
  std::string payload;
  ASSERT_TRUE((*reader)->Next(&kind, &payload).ok());
  EXPECT_EQ(kind, 17);
  std::string_view in = payload;
  uint64_t partition, next;
  ASSERT_TRUE(bytes::GetCount(&in, INT32_MAX, &partition));
  ASSERT_TRUE(bytes::GetCount(&in, INT64_MAX, &next));
  EXPECT_EQ(partition, 2u);
  EXPECT_EQ(static_cast<Offset>(next), a.next.at(2));
  const std::string text = metrics.RenderPrometheus();
  for (const char* line :
       {"# HELP viewpipe_ops_events_total Events applied by the ops path",
        "# HELP viewpipe_ops_corrupt_records_total Records of the viewing topic the ops path "
        "could not decode",
        "# HELP viewpipe_ops_partition_handovers_total Partitions this ops process took over",
        "# HELP viewpipe_ops_partitions_owned Partitions of viewing this ops process counts",
        "# HELP viewpipe_ops_watermark_ms The ops watermark (event time)",
        "# HELP viewpipe_ops_checkpoint_seconds Time to write one ops checkpoint (all changed "
        "partitions)",
        "viewpipe_ops_checkpoint_seconds_bucket{le=\"30\"} 1",
        "viewpipe_ops_partition_handovers_total{outcome=\"rebuild\"} 4",
        "viewpipe_ops_partitions_owned 4"}) {
    EXPECT_NE(text.find(line), std::string::npos) << line << "\n" << text;
  }
}

}  // namespace
}  // namespace viewpipe::ops
