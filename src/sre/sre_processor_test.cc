// SreProcessor's checkpoint against a real FileLog: a restart resumes from
// the checkpoint's offsets and ends with the same windows and alerts as an
// uninterrupted run; a damaged checkpoint (or one of other options) is set
// aside and the state rebuilt from the start of the topic.
#include "sre/sre_processor.h"

#include <gtest/gtest.h>

#include <deque>
#include <filesystem>
#include <fstream>
#include <random>

#include "common/scoped_temp_dir.h"
#include "event/codec.h"
#include "log/file_log.h"
#include "sre/sre_test_util.h"

namespace viewpipe::sre {
namespace {

using testing::Ev;

constexpr int64_t kMs = 1700000000000;
constexpr int64_t kOutage = kMs + 12 * 60000;  // cdn-b fails 60 % of starts for 2 min

class SreProcessorTest : public ::testing::Test {
 protected:
  SreProcessorTest() : clock_(kMs + 24 * 3600 * 1000) {
    FileLogOptions o;
    o.dir = JoinPath(tmp_.path(), "log");
    o.clock = &clock_;
    o.topics = {{"qoe", 2}};
    o.min_free_bytes = 0;
    auto log = FileLog::Open(o);
    EXPECT_TRUE(log.ok()) << log.status().ToString();
    log_ = std::move(log).value();
    Generate();
  }

  // 18 minutes of sessions on cdn-a / cdn-b in DE / FR, ~5 attempts a
  // second, arriving 0.2-3 s after their ts (so out of order).
  void Generate() {
    std::mt19937 rng(7);
    std::uniform_real_distribution<> u(0, 1);
    for (int i = 0; i < 18 * 60 * 5; ++i) {
      const int64_t t = kMs + i * 200 + static_cast<int64_t>(rng() % 200);
      const std::string& s = ids_.emplace_back("s" + std::to_string(i));
      const char* cdn = i % 2 == 0 ? "cdn-a" : "cdn-b";
      const char* country = i % 3 == 0 ? "FR" : "DE";
      const bool outage = cdn[4] == 'b' && t >= kOutage && t < kOutage + 120000;
      Add(Ev(EventType::kAttempt, t, s.c_str(), cdn, country));
      if (u(rng) < (outage ? 0.6 : 0.01)) {
        Add(Ev(EventType::kError, t + 1500, s.c_str(), cdn, country).Fatal(true));
        continue;
      }
      Add(Ev(EventType::kPlayStart, t + 900, s.c_str(), cdn, country).Startup(900).Bitrate(3000));
      const int beats = 1 + static_cast<int>(rng() % 8);
      int64_t ts = t + 900;
      for (int b = 0; b < beats; ++b) {
        ts += 10000;
        Add(Ev(EventType::kHeartbeat, ts, s.c_str(), cdn, country).Bitrate(3000));
        if (rng() % 10 == 0) {
          Add(Ev(EventType::kRebufferStart, ts + 2000, s.c_str(), cdn, country));
          Add(Ev(EventType::kRebufferEnd, ts + 3200, s.c_str(), cdn, country).Rebuffer(1200));
        }
      }
      Add(Ev(EventType::kStop, ts + 5000, s.c_str(), cdn, country));
    }
    std::stable_sort(records_.begin(), records_.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
  }
  void Add(Ev e) {
    e.v.received_at_ms = e.v.ts_ms + 200 + static_cast<int64_t>(jitter_() % 2800);
    std::string value;
    EncodeEvent(e.v, &value);
    records_.emplace_back(e.v.received_at_ms, std::make_pair(std::string(e.v.session_id), value));
  }
  void Produce() {
    for (size_t i = 0; i < records_.size(); i += 100) {
      std::vector<ProduceRecord> batch;
      for (size_t j = i; j < std::min(records_.size(), i + 100); ++j) {
        ProduceRecord r;
        r.topic = "qoe";
        r.key = records_[j].second.first;
        r.value = records_[j].second.second;
        r.timestamp_ms = records_[j].first;
        batch.push_back(r);
      }
      ASSERT_TRUE(log_->Append(batch).ok());
    }
  }

  struct Path {
    std::unique_ptr<SreState> state;
    std::unique_ptr<SreProcessor> processor;
    std::unique_ptr<Consumer> consumer;
    std::map<PartitionId, Offset> next;
  };
  Path NewPath(AlertBook* book, const std::string& dir, SreOptions options = {}) {
    Path p;
    p.state = std::make_unique<SreState>(options, book, &clock_);
    p.processor = std::make_unique<SreProcessor>(log_.get(), "qoe", p.state.get(), book, &clock_,
                                                 &metrics_, Env::Default(), dir);
    auto consumer = log_->Subscribe("sre", "qoe");
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
  // Processes at most `polls` polls of `poll` records (all when polls < 0).
  void Run(Path* p, int polls, size_t poll = 64) {
    for (int i = 0; polls < 0 || i < polls; ++i) {
      auto records = p->consumer->Poll(poll, std::chrono::milliseconds(0));
      ASSERT_TRUE(records.ok());
      if (records->empty()) return;
      ASSERT_TRUE(p->processor->Process(*records).ok());
      for (const ConsumedRecord& r : *records) p->next[r.partition] = r.offset + 1;
    }
  }
  // Every 10 s window of every cdn and cdn_country group, and the total.
  static std::map<std::string, std::map<int64_t, QoeCounts>> Windows(const SreState& s) {
    std::map<std::string, std::map<int64_t, QoeCounts>> out;
    for (const GroupKey& g :
         {GroupKey{QoeDim::kTotal, ""}, GroupKey{QoeDim::kCdn, "cdn-a"},
          GroupKey{QoeDim::kCdn, "cdn-b"}, GroupKey{QoeDim::kCdnCountry, "cdn-b|DE"},
          GroupKey{QoeDim::kCdnCountry, "cdn-a|FR"}, GroupKey{QoeDim::kCountry, "FR"}}) {
      out[std::string(QoeDimName(g.dim)) + "=" + g.key] = s.Series(g, 10000, 3600 * 1000);
    }
    return out;
  }
  static std::vector<std::string> Ids(const AlertBook& book) {
    std::vector<std::string> ids;
    for (const Alert& a : book.List(false, 0)) ids.push_back(a.id);
    std::sort(ids.begin(), ids.end());
    return ids;
  }
  std::string Dir(const char* name) const { return JoinPath(tmp_.path(), name); }

  ScopedTempDir tmp_;
  ManualClock clock_;
  MetricsRegistry metrics_;
  std::unique_ptr<FileLog> log_;
  std::deque<std::string> ids_;
  std::mt19937 jitter_{11};
  std::vector<std::pair<int64_t, std::pair<std::string, std::string>>> records_;
};

TEST_F(SreProcessorTest, RestartResumesFromTheCheckpointWithTheSameWindowsAndAlerts) {
  Produce();
  AlertBook whole_book(nullptr, "");
  Path whole = NewPath(&whole_book, Dir("whole"));
  Run(&whole, -1);
  const auto expected = Windows(*whole.state);
  ASSERT_GT(expected.at("cdn=cdn-b").size(), 90u);
  const std::vector<std::string> alerts = Ids(whole_book);
  ASSERT_FALSE(alerts.empty());
  bool cdn_b = false;
  for (const std::string& id : alerts) cdn_b |= id.rfind("qoe:cdn:cdn-b:vsf_rate:", 0) == 0;
  EXPECT_TRUE(cdn_b) << alerts[0];

  // Checkpointed during the outage, more work lost (kill -9), a restart.
  AlertBook book(nullptr, "");
  Path first = NewPath(&book, Dir("sre"));
  EXPECT_EQ(first.processor->restored_records(), 0u);
  const size_t total = records_.size();
  Run(&first, static_cast<int>(total * 13 / 18 / 64));  // into the outage
  ASSERT_TRUE(first.processor->Checkpoint(first.next).ok());
  const auto at = first.next;
  Run(&first, 100);  // lost: never checkpointed
  Path second = NewPath(&book, Dir("sre"));
  EXPECT_EQ(second.next, at);
  EXPECT_EQ(second.processor->restored_records(),
            static_cast<uint64_t>(at.at(0) + at.at(1)));
  EXPECT_GT(second.processor->restored_records(), total / 2);
  Run(&second, -1);
  EXPECT_EQ(Windows(*second.state), expected);
  EXPECT_EQ(Ids(book), alerts);
  EXPECT_EQ(second.state->sessions(), whole.state->sessions());
  EXPECT_EQ(second.state->stats().events, whole.state->stats().events);
}

TEST_F(SreProcessorTest, CheckpointRoundTripsTheWholeState) {
  Produce();
  AlertBook book(nullptr, "");
  Path p = NewPath(&book, Dir("sre"));
  Run(&p, static_cast<int>(records_.size() / 2 / 64));
  ASSERT_TRUE(p.processor->Checkpoint(p.next).ok());
  Path restored = NewPath(&book, Dir("sre"));
  EXPECT_EQ(restored.next, p.next);
  EXPECT_EQ(Windows(*restored.state), Windows(*p.state));
  EXPECT_EQ(restored.state->watermark(), p.state->watermark());
  EXPECT_EQ(restored.state->closed_through(), p.state->closed_through());
  EXPECT_EQ(restored.state->sessions(), p.state->sessions());
  // Both go on identically from there (same batches: same detector view).
  Run(&p, -1);
  Run(&restored, -1);
  EXPECT_EQ(Windows(*restored.state), Windows(*p.state));
  // A checkpoint written again from the restored state is the same bytes.
  ASSERT_TRUE(p.processor->Checkpoint(p.next).ok());
  std::ifstream a(p.processor->checkpoint_path(), std::ios::binary);
  const std::string first((std::istreambuf_iterator<char>(a)), {});
  ASSERT_TRUE(restored.processor->Checkpoint(restored.next).ok());
  std::ifstream b(restored.processor->checkpoint_path(), std::ios::binary);
  const std::string second((std::istreambuf_iterator<char>(b)), {});
  EXPECT_GT(first.size(), 1000u);
  EXPECT_TRUE(first == second) << first.size() << " vs " << second.size() << " bytes";
}

TEST_F(SreProcessorTest, CorruptCheckpointRebuildsFromTheStartOfTheTopic) {
  Produce();
  AlertBook book(nullptr, "");
  Path p = NewPath(&book, Dir("sre"));
  Run(&p, -1);
  ASSERT_TRUE(p.processor->Checkpoint(p.next).ok());
  const auto expected = Windows(*p.state);
  const std::string path = p.processor->checkpoint_path();
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(std::filesystem::file_size(path) / 2));
    f.put('\x5a');
  }
  Path rebuilt = NewPath(&book, Dir("sre"));
  EXPECT_EQ(rebuilt.next.at(0) + rebuilt.next.at(1), 0);
  EXPECT_EQ(rebuilt.processor->restored_records(), 0u);
  EXPECT_EQ(rebuilt.state->watermark(), std::nullopt);
  EXPECT_EQ(rebuilt.state->sessions(), 0u);
  EXPECT_TRUE(std::filesystem::exists(path + ".bad"));
  Run(&rebuilt, -1);
  EXPECT_EQ(Windows(*rebuilt.state), expected);
}

TEST_F(SreProcessorTest, CheckpointOfOtherOptionsOrTruncatedRebuilds) {
  Produce();
  AlertBook book(nullptr, "");
  Path p = NewPath(&book, Dir("sre"));
  Run(&p, 50);
  ASSERT_TRUE(p.processor->Checkpoint(p.next).ok());
  SreOptions other;
  other.qoe.window_ms = 5000;
  Path rebuilt = NewPath(&book, Dir("sre"), other);
  EXPECT_EQ(rebuilt.next.at(0) + rebuilt.next.at(1), 0);
  EXPECT_EQ(rebuilt.state->sessions(), 0u);

  ASSERT_TRUE(p.processor->Checkpoint(p.next).ok());
  const std::string path = p.processor->checkpoint_path();
  std::filesystem::resize_file(path, std::filesystem::file_size(path) - 7);
  Path truncated = NewPath(&book, Dir("sre"));
  EXPECT_EQ(truncated.next.at(0) + truncated.next.at(1), 0);
}

}  // namespace
}  // namespace viewpipe::sre
