// The lake path on the real log and consumer runtime: a commit that fails
// (as a crash would) stops the runner; a new runner restores from the lake's
// own offsets and the lake ends with every event once.

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <set>
#include <thread>

#include "common/scoped_temp_dir.h"
#include "event/codec.h"
#include "lake/lake_processor.h"
#include "lake/lake_test_util.h"
#include "lake/local_object_store.h"
#include "log/file_log.h"

namespace viewpipe {
namespace {

void AppendEvents(Log* log, const std::vector<OwnedEvent>& events) {
  std::vector<std::string> values(events.size());
  std::vector<ProduceRecord> records(events.size());
  for (size_t i = 0; i < events.size(); ++i) {
    EncodeEvent(events[i].view(), &values[i]);
    records[i].topic = kTopicViewing;
    records[i].key = events[i].session_id;
    records[i].value = values[i];
    records[i].timestamp_ms = events[i].received_at_ms;
  }
  ASSERT_TRUE(log->Append(records).ok());
}

bool WaitFor(const std::function<bool()>& pred) {
  for (int i = 0; i < 600; ++i) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

TEST(LakeProcessorTest, RestoresFromTheLakesOffsetsAfterAFailedCommit) {
  spdlog::set_level(spdlog::level::err);
  ScopedTempDir tmp;
  ManualClock clock(kDay0 + kMsPerHour);
  FileLogOptions lo;
  lo.dir = tmp.path() + "/log";
  lo.clock = &clock;
  lo.topics = {{std::string(kTopicViewing), 3}};
  lo.min_free_bytes = 0;
  auto log = FileLog::Open(lo);
  ASSERT_TRUE(log.ok()) << log.status().ToString();

  LocalObjectStore store(Env::Default(), tmp.path() + "/lake");
  LakeWriterOptions wo;
  wo.store = &store;
  wo.clock = &clock;
  wo.parquet.scratch_dir = tmp.path() + "/scratch";
  wo.parquet.zstd_level = 1;
  int commits = 0;
  wo.probe = [&](std::string_view step) {
    // The second commit fails right after its commit point.
    if (step == "root" && ++commits == 2) return Status::Aborted("crash after the root");
    return Status::OK();
  };
  std::vector<OwnedEvent> first, second;
  for (int i = 0; i < 200; ++i) first.push_back(MakeEvent(i, kDay0 + i * 1000));
  for (int i = 150; i < 400; ++i) second.push_back(MakeEvent(i, kDay0 + i * 1000));  // 50 repeats
  AppendEvents(log->get(), first);

  LakeProcessor processor(log->get(), std::string(kTopicViewing), wo, 0);
  ConsumerRunnerOptions ro;
  ro.group = "lake";
  ro.topic = std::string(kTopicViewing);
  ro.checkpoint_interval = std::chrono::milliseconds(20);
  auto runner = std::make_unique<ConsumerRunner>(log->get(), &processor, nullptr, ro);
  ASSERT_TRUE(runner->Start().ok());
  ASSERT_TRUE(WaitFor([&] { return processor.stats().root.version >= 1; }));
  AppendEvents(log->get(), second);
  ASSERT_TRUE(WaitFor([&] { return !runner->error().ok(); }));
  runner->Stop();
  runner = std::make_unique<ConsumerRunner>(log->get(), &processor, nullptr, ro);
  ASSERT_TRUE(runner->Start().ok());  // Restore reopens the writer and recovers
  std::vector<OwnedEvent> third;
  for (int i = 400; i < 410; ++i) third.push_back(MakeEvent(i, kDay0 + i * 1000));
  AppendEvents(log->get(), third);
  ASSERT_TRUE(WaitFor([&] {
    auto root = processor.stats().root;
    Offset n = 0;
    for (const auto& [p, o] : root.offsets) n += o;
    return n == 460;
  }));
  runner->Stop();
  processor.Close();

  LakeReader reader(&store);
  auto rows = ReadLakeRows(&reader);
  std::set<std::string> ids;
  for (const auto& [id, date] : rows) EXPECT_TRUE(ids.insert(id).second) << "twice: " << id;
  EXPECT_EQ(rows.size(), 410u);
  auto committed = (*log)->Committed("lake", kTopicViewing);
  ASSERT_TRUE(committed.ok());
  // The group's committed offsets never run ahead of what the lake holds.
  auto root = reader.Root();
  for (const auto& [p, o] : *committed) EXPECT_LE(o, root->offsets.at(p)) << p;
}

}  // namespace
}  // namespace viewpipe
