#include "ops/ops_processor.h"

#include <gtest/gtest.h>

#include <fstream>
#include <random>

#include "common/scoped_temp_dir.h"
#include "event/codec.h"
#include "log/file_log.h"
#include "ops/ops_test_util.h"

namespace viewpipe::ops {
namespace {

using testing::TestEvent;
using testing::TrackerCount;

using testing::kB;
using testing::kMs;

// Every count of every key over [from, to]: what two runs must agree on.
std::map<std::string, std::vector<int64_t>> Dump(const SessionTracker& t, int64_t from,
                                                 int64_t to) {
  std::map<std::string, std::vector<int64_t>> out;
  auto dump = [&](const std::string& name, ViewerSeries::KeyId k) {
    std::vector<int64_t>& v = out[name];
    for (int64_t s = from; s <= to; ++s) v.push_back(t.series().At(k, s));
  };
  dump("total", ViewerSeries::kTotal);
  for (Dimension d : kAllDimensions) {
    for (uint32_t id = 0; id < t.keys().size(d); ++id) {
      dump(std::string(DimensionName(d)) + "=" + t.keys().names(d).Name(id), t.keys().Key(d, id));
    }
  }
  return out;
}

class OpsProcessorTest : public ::testing::Test {
 protected:
  OpsProcessorTest() : clock_(kMs + 3600 * 1000) {
    FileLogOptions o;
    o.dir = JoinPath(tmp_.path(), "log");
    o.clock = &clock_;
    o.topics = {{"viewing", 2}};
    o.min_free_bytes = 0;
    auto log = FileLog::Open(o);
    EXPECT_TRUE(log.ok()) << log.status().ToString();
    log_ = std::move(log).value();
    options_.checkpoint_interval_ms = 1000;
    options_.background_checkpoint = false;  // one test below forks
    // Sessions with late, out-of-order and repeated events over ~15 minutes.
    std::mt19937 rng(42);
    for (int i = 0; i < 200; ++i) {
      TestEvent e;
      e.session = "s" + std::to_string(i);
      e.title = "t" + std::to_string(i % 7);
      e.country = i % 3 == 0 ? "DE" : "US";
      e.live = i % 5 == 0 ? "final" : "";
      int64_t ts = kMs + static_cast<int64_t>(rng() % 300000);
      e.type = EventType::kAttempt;
      e.ts = ts;
      events_.push_back(e);
      const int beats = static_cast<int>(rng() % 60);
      for (int b = 0; b < beats; ++b) {
        ts += 9000 + static_cast<int64_t>(rng() % 2000) + (rng() % 20 == 0 ? 40000 : 0);
        e.type = b == 0 ? EventType::kPlayStart : EventType::kHeartbeat;
        e.ts = ts;
        events_.push_back(e);
      }
      e.type = rng() % 4 == 0 ? EventType::kError : EventType::kStop;
      e.fatal = true;
      e.ts = ts + 3000;
      events_.push_back(e);
    }
    std::stable_sort(events_.begin(), events_.end(),
                     [](const TestEvent& a, const TestEvent& b) { return a.ts < b.ts; });
    // 3 % arrive up to 4 minutes late, 2 % twice.
    std::vector<TestEvent> arrival;
    std::vector<TestEvent> late;
    for (TestEvent e : events_) {
      e.received_at = e.ts + 200;
      if (rng() % 100 < 3) {
        e.received_at = e.ts + static_cast<int64_t>(rng() % 240000);
        late.push_back(e);
      } else {
        arrival.push_back(e);
      }
      if (rng() % 100 < 2) arrival.push_back(e);
    }
    arrival.insert(arrival.end(), late.begin(), late.end());
    std::stable_sort(arrival.begin(), arrival.end(), [](const TestEvent& a, const TestEvent& b) {
      return a.received_at < b.received_at;
    });
    events_ = std::move(arrival);
  }

  // Appends events_[from, to) to the log, 100 per Append.
  void Produce(size_t from, size_t to) {
    for (size_t i = from; i < to; i += 100) {
      std::vector<std::string> values;
      std::vector<ProduceRecord> records;
      const size_t end = std::min(to, i + 100);
      values.reserve(end - i);
      for (size_t j = i; j < end; ++j) {
        values.emplace_back();
        EventView v = events_[j].View();
        EncodeEvent(v, &values.back());
      }
      for (size_t j = i; j < end; ++j) {
        ProduceRecord r;
        r.topic = "viewing";
        r.key = events_[j].session;
        r.value = values[j - i];
        r.timestamp_ms = events_[j].received_at;
        records.push_back(r);
      }
      ASSERT_TRUE(log_->Append(records).ok());
    }
  }

  struct Path {
    std::unique_ptr<OpsState> state;
    std::unique_ptr<OpsProcessor> processor;
    std::unique_ptr<Consumer> consumer;
    std::map<PartitionId, Offset> next;
  };
  Path NewPath(const OpsOptions& options) {
    Path p;
    p.state = std::make_unique<OpsState>(options.tracker);
    p.processor = std::make_unique<OpsProcessor>(log_.get(), "viewing", p.state.get(),
                                                 Env::Default(), JoinPath(tmp_.path(), "ops"),
                                                 &clock_, &metrics_, options);
    auto consumer = log_->Subscribe("ops", "viewing");
    EXPECT_TRUE(consumer.ok());
    p.consumer = std::move(consumer).value();
    auto offsets = p.processor->Restore();
    EXPECT_TRUE(offsets.ok()) << offsets.status().ToString();
    for (const auto& [part, off] : *offsets) {
      EXPECT_TRUE(p.consumer->Seek(part, off).ok());
      p.next[part] = off;
    }
    return p;
  }
  // Polls and processes until the log is drained; small polls interleave
  // the partitions the way the runner does.
  void Drain(Path* p, size_t poll = 64) {
    for (;;) {
      auto records = p->consumer->Poll(poll, std::chrono::milliseconds(0));
      ASSERT_TRUE(records.ok());
      if (records->empty()) return;
      ASSERT_TRUE(p->processor->Process(*records).ok());
      for (const ConsumedRecord& r : *records) p->next[r.partition] = r.offset + 1;
    }
  }
  std::map<std::string, std::vector<int64_t>> Final(const Path& p) {
    return Dump(p.state->owner_view(), kB - 1, kB + 1500);
  }

  ScopedTempDir tmp_;
  ManualClock clock_;
  MetricsRegistry metrics_;
  std::unique_ptr<FileLog> log_;
  OpsOptions options_;
  std::vector<TestEvent> events_;
};

TEST_F(OpsProcessorTest, CheckpointRestoreEqualsUninterruptedProcessing) {
  Produce(0, events_.size());
  Path whole = NewPath(options_);
  Drain(&whole);
  const auto expected = Final(whole);
  EXPECT_EQ(whole.state->owner_view().stats().late_beyond_bound, 0u);
  ASSERT_GT(expected.at("total")[300], 0);

  // Interrupted twice: a checkpoint, more work that is lost (kill -9), and a
  // restart that replays from the checkpoint.
  std::filesystem::remove_all(JoinPath(tmp_.path(), "ops"));
  Path first = NewPath(options_);
  for (int i = 0; i < 30; ++i) {
    auto records = first.consumer->Poll(50, std::chrono::milliseconds(0));
    ASSERT_TRUE(records.ok());
    ASSERT_TRUE(first.processor->Process(*records).ok());
    for (const ConsumedRecord& r : *records) first.next[r.partition] = r.offset + 1;
  }
  ASSERT_TRUE(first.processor->Checkpoint(first.next).ok());
  Drain(&first);  // lost: never checkpointed
  Path second = NewPath(options_);
  EXPECT_LT(second.next[0] + second.next[1], first.next[0] + first.next[1]);
  for (int i = 0; i < 40; ++i) {
    auto records = second.consumer->Poll(70, std::chrono::milliseconds(0));
    ASSERT_TRUE(records.ok());
    ASSERT_TRUE(second.processor->Process(*records).ok());
    for (const ConsumedRecord& r : *records) second.next[r.partition] = r.offset + 1;
  }
  ASSERT_TRUE(second.processor->Checkpoint(second.next).ok());
  Path third = NewPath(options_);
  Drain(&third, 200);
  EXPECT_EQ(Final(third), expected);
  // Which idle sessions are gone yet depends on batch sizes; after a full
  // sweep both runs hold the same ones.
  for (Path* p : {&whole, &third}) {
    p->state->Write([](SessionTracker& t) { t.EvictIdle(1 << 20); });
  }
  EXPECT_EQ(third.state->owner_view().sessions(), whole.state->owner_view().sessions());
}

TEST_F(OpsProcessorTest, BackgroundCheckpointWritesTheStateAsOfTheFork) {
  Produce(0, events_.size());
  options_.background_checkpoint = true;
  Path whole = NewPath(options_);
  Drain(&whole);
  const auto expected = Final(whole);
  Path first = NewPath(options_);  // same dir: no checkpoint yet, starts at 0
  for (int i = 0; i < 30; ++i) {
    auto records = first.consumer->Poll(50, std::chrono::milliseconds(0));
    ASSERT_TRUE(records.ok());
    ASSERT_TRUE(first.processor->Process(*records).ok());
    for (const ConsumedRecord& r : *records) first.next[r.partition] = r.offset + 1;
  }
  ASSERT_TRUE(first.processor->Checkpoint(first.next).ok());  // forks
  const auto forked_at = first.next;
  Drain(&first);  // the child writes the state as of the fork, not this
  ASSERT_TRUE(first.processor->WaitForBackgroundCheckpoint().ok());
  Path second = NewPath(options_);
  EXPECT_EQ(second.next, forked_at);
  Drain(&second);
  EXPECT_EQ(Final(second), expected);
  // Stop-time checkpoints are written in place.
  second.processor->SetSynchronous(true);
  ASSERT_TRUE(second.processor->Checkpoint(second.next).ok());
  Path third = NewPath(options_);
  EXPECT_EQ(third.next, second.next);
  EXPECT_EQ(Final(third), expected);
}

TEST_F(OpsProcessorTest, CorruptCheckpointRebuildsFromTheStartOfTheLog) {
  Produce(0, events_.size());
  Path whole = NewPath(options_);
  Drain(&whole);
  ASSERT_TRUE(whole.processor->Checkpoint(whole.next).ok());
  const auto expected = Final(whole);
  const std::string path = whole.processor->checkpoint_path();
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(100);
    f.put('\x5a');
  }
  Path rebuilt = NewPath(options_);
  EXPECT_EQ(rebuilt.next[0], 0);
  EXPECT_EQ(rebuilt.next[1], 0);
  EXPECT_FALSE(rebuilt.state->owner_view().has_time());
  EXPECT_TRUE(std::filesystem::exists(path + ".bad"));
  Drain(&rebuilt);
  EXPECT_EQ(Final(rebuilt), expected);
}

TEST_F(OpsProcessorTest, TruncatedCheckpointRebuilds) {
  Produce(0, events_.size() / 2);
  Path p = NewPath(options_);
  Drain(&p);
  ASSERT_TRUE(p.processor->Checkpoint(p.next).ok());
  const std::string path = p.processor->checkpoint_path();
  std::filesystem::resize_file(path, std::filesystem::file_size(path) - 7);
  Path rebuilt = NewPath(options_);
  EXPECT_EQ(rebuilt.next[0] + rebuilt.next[1], 0);
}

TEST_F(OpsProcessorTest, CheckpointOfOtherOptionsRebuilds) {
  Produce(0, 1000);
  Path p = NewPath(options_);
  Drain(&p);
  ASSERT_TRUE(p.processor->Checkpoint(p.next).ok());
  OpsOptions other = options_;
  other.tracker.timeout_ms = 20000;
  Path rebuilt = NewPath(other);
  EXPECT_EQ(rebuilt.next[0] + rebuilt.next[1], 0);
}

TEST_F(OpsProcessorTest, MissingCheckpointStartsAtTheBeginning) {
  Produce(0, 500);
  Path p = NewPath(options_);
  EXPECT_EQ(p.next[0] + p.next[1], 0);
  Drain(&p);
  EXPECT_EQ(p.next[0] + p.next[1], 500);
  EXPECT_TRUE(p.state->Latest() != nullptr);
}

TEST_F(OpsProcessorTest, PartitionWithUnreadRecordsHoldsTheWatermark) {
  // Partition 0 runs an hour ahead of partition 1: reading 0 first must not
  // make 1's events late.
  auto event = [](const char* session, int64_t ts) {
    TestEvent e;
    e.session = session;
    e.type = EventType::kAttempt;
    e.ts = ts;
    std::string v;
    EncodeEvent(e.View(), &v);
    return v;
  };
  const std::string a = event("a", kMs), b = event("b", kMs + 3600 * 1000),
                    c = event("c", kMs + 60000);
  std::vector<ProduceRecord> records(3);
  records[0] = {"viewing", "a", a, 0, 0};
  records[1] = {"viewing", "b", b, 0, 0};
  records[2] = {"viewing", "c", c, 0, 1};
  ASSERT_TRUE(log_->Append(records).ok());
  Path p = NewPath(options_);
  ASSERT_TRUE(p.consumer->Seek(1, 1).ok());  // the consumer gets to partition 1 last
  Drain(&p, 1);
  EXPECT_EQ(p.state->owner_view().watermark(), kMs);  // held by partition 1
  ASSERT_TRUE(p.consumer->Seek(1, 0).ok());
  Drain(&p, 1);
  EXPECT_EQ(p.state->owner_view().stats().late_beyond_bound, 0u);
  EXPECT_EQ(p.state->owner_view().watermark(), kMs + 3600 * 1000);
  EXPECT_EQ(TrackerCount(p.state->owner_view(), kB + 60), 1);  // c (a timed out)
}

TEST_F(OpsProcessorTest, IdleLiveStreamFollowsTheWallClock) {
  TestEvent e;
  e.session = "s";
  e.type = EventType::kAttempt;
  e.ts = clock_.NowMs() - 500;
  std::string v;
  EncodeEvent(e.View(), &v);
  std::vector<ProduceRecord> records(1);
  records[0] = {"viewing", "s", v, 0, -1};
  ASSERT_TRUE(log_->Append(records).ok());
  Path p = NewPath(options_);
  Drain(&p);
  const int64_t as_of = p.state->owner_view().as_of();
  clock_.Advance(40000);
  p.processor->Idle();
  EXPECT_GE(p.state->owner_view().as_of(), as_of + 38);
  EXPECT_EQ(p.state->Latest()->total, 0);  // timed out
  // Old data (a replay) is never moved by the wall clock.
  clock_.Advance(3600 * 1000);
  const int64_t w = p.state->owner_view().watermark();
  p.processor->Idle();
  EXPECT_EQ(p.state->owner_view().watermark(), w);
}

}  // namespace
}  // namespace viewpipe::ops
