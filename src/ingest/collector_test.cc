#include "ingest/collector.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <set>
#include <string>

#include "common/fault_injection_env.h"
#include "event/codec.h"
#include "log/file_log.h"

namespace viewpipe {
namespace {

constexpr int64_t kCollectorNow = 1'790'000'000'000;

std::string EventJson(const std::string& id, const std::string& type = "heartbeat",
                      int64_t ts = kCollectorNow - 1000) {
  std::string extra;
  if (type == "play_start") extra = ",\"startup_ms\":800";
  return "{\"event_id\":\"" + id + "\",\"type\":\"" + type + "\",\"ts\":" + std::to_string(ts) +
         ",\"session_id\":\"s-" + id + "\",\"profile_id\":\"p1\",\"title_id\":\"t1\"," +
         "\"device_type\":\"tv\",\"country\":\"DE\",\"cdn\":\"cdn-a\"" + extra + "}";
}

std::string Body(const std::vector<std::string>& events) {
  std::string b = "{\"events\":[";
  for (size_t i = 0; i < events.size(); ++i) b += (i ? "," : "") + events[i];
  return b + "]}";
}

class CollectorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("collector_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    Open();
  }
  void TearDown() override {
    collector_.reset();
    log_.reset();
    std::filesystem::remove_all(dir_);
  }
  void Open() {
    collector_.reset();
    log_.reset();
    FileLogOptions o;
    o.dir = dir_.string();
    o.env = &env_;
    o.clock = &clock_;
    o.min_free_bytes = 0;
    auto log = FileLog::Open(o);
    ASSERT_TRUE(log.ok()) << log.status().ToString();
    log_ = std::move(log).value();
    CollectorOptions co;
    co.write_keys = {"k1", "k2"};
    metrics_ = std::make_unique<MetricsRegistry>();
    collector_ = std::make_unique<Collector>(log_.get(), &clock_, metrics_.get(), co);
    ASSERT_TRUE(collector_->Recover().ok());
    collector_->SetReady(true);
  }
  // event_ids in a topic, in log order per partition.
  std::multiset<std::string> Ids(std::string_view topic) {
    std::multiset<std::string> ids;
    for (PartitionId p = 0; p < log_->Partitions(topic); ++p) {
      auto reader = log_->NewReader(topic, p, 0);
      std::vector<ConsumedRecord> records;
      EXPECT_TRUE((*reader)->Read(100000, &records).ok());
      for (const auto& r : records) {
        EventView e;
        DecodedIds decoded;
        EXPECT_TRUE(DecodeEvent(r.value, &e, &decoded).ok());
        ids.emplace(e.event_id);
      }
    }
    return ids;
  }
  size_t DeadLetters() { return static_cast<size_t>(log_->EndOffset(kTopicDeadLetters, 0)); }

  FaultInjectionEnv env_{Env::Default()};
  ManualClock clock_{kCollectorNow};
  std::filesystem::path dir_;
  std::unique_ptr<MetricsRegistry> metrics_;
  std::unique_ptr<FileLog> log_;
  std::unique_ptr<Collector> collector_;
};

TEST_F(CollectorTest, AuthorizesOnlyConfiguredBearerKeys) {
  EXPECT_TRUE(collector_->Authorized("Bearer k1"));
  EXPECT_TRUE(collector_->Authorized("Bearer k2"));
  EXPECT_FALSE(collector_->Authorized("Bearer k3"));
  EXPECT_FALSE(collector_->Authorized("k1"));
  EXPECT_FALSE(collector_->Authorized(""));
  EXPECT_FALSE(collector_->Authorized("Bearer "));
}

TEST_F(CollectorTest, MixedBatchStoresValidAndDeadLettersInvalid) {
  IngestResponse r = collector_->Ingest(
      Body({EventJson("a", "attempt"), "{\"event_id\":\"bad\",\"type\":\"nope\"}",
            EventJson("b", "heartbeat"), EventJson("c", "seek")}),
      BodyFormat::kJson);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find("\"accepted\":3"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("\"rejected\":1"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("\"index\":1"), std::string::npos) << r.body;
  EXPECT_EQ(Ids(kTopicViewing), (std::multiset<std::string>{"a", "b", "c"}));
  // heartbeat rides `qoe` too (the SRE path's playing time); seek does not.
  EXPECT_EQ(Ids(kTopicQoe), (std::multiset<std::string>{"a", "b"}));
  EXPECT_EQ(DeadLetters(), 1u);
}

TEST_F(CollectorTest, DuplicatesAreCountedNotStored) {
  ASSERT_EQ(collector_->Ingest(Body({EventJson("a"), EventJson("a")}), BodyFormat::kJson).status,
            200);
  IngestResponse r = collector_->Ingest(Body({EventJson("a"), EventJson("b")}), BodyFormat::kJson);
  EXPECT_NE(r.body.find("\"accepted\":1,\"duplicates\":1"), std::string::npos) << r.body;
  EXPECT_EQ(Ids(kTopicViewing), (std::multiset<std::string>{"a", "b"}));
}

TEST_F(CollectorTest, DedupSurvivesRestart) {
  ASSERT_EQ(collector_->Ingest(Body({EventJson("a", "attempt")}), BodyFormat::kJson).status, 200);
  Open();
  IngestResponse r = collector_->Ingest(Body({EventJson("a", "attempt")}), BodyFormat::kJson);
  EXPECT_NE(r.body.find("\"accepted\":0,\"duplicates\":1"), std::string::npos) << r.body;
  EXPECT_EQ(Ids(kTopicViewing).size(), 1u);
}

TEST_F(CollectorTest, NotJsonIs400AndTooManyEventsIs413) {
  EXPECT_EQ(collector_->Ingest("not json", BodyFormat::kJson).status, 400);
  std::vector<std::string> many;
  for (int i = 0; i < 1001; ++i) many.push_back(EventJson("e" + std::to_string(i)));
  EXPECT_EQ(collector_->Ingest(Body(many), BodyFormat::kJson).status, 413);
  EXPECT_TRUE(Ids(kTopicViewing).empty());
  EXPECT_EQ(DeadLetters(), 0u);
}

TEST_F(CollectorTest, NotReadyIs503) {
  collector_->SetReady(false);
  IngestResponse r = collector_->Ingest(Body({EventJson("a")}), BodyFormat::kJson);
  EXPECT_EQ(r.status, 503);
  EXPECT_GT(r.retry_after_s, 0);
}

// A failed write answers 503 and releases the ids: the retry is stored.
TEST_F(CollectorTest, StorageFailureIs503AndRetryLands) {
  env_.SetWriteError(true);
  IngestResponse r = collector_->Ingest(Body({EventJson("a")}), BodyFormat::kJson);
  EXPECT_EQ(r.status, 503) << r.body;
  EXPECT_GT(r.retry_after_s, 0);
  env_.SetWriteError(false);
  Open();  // a failed log stays failed until reopened
  r = collector_->Ingest(Body({EventJson("a")}), BodyFormat::kJson);
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find("\"accepted\":1"), std::string::npos) << r.body;
  EXPECT_EQ(Ids(kTopicViewing), (std::multiset<std::string>{"a"}));
}

TEST_F(CollectorTest, FullDiskIs503) {
  env_.SetSpaceLimit(env_.UsedBytes() + 10);
  IngestResponse r = collector_->Ingest(Body({EventJson("a"), EventJson("b")}), BodyFormat::kJson);
  EXPECT_EQ(r.status, 503) << r.body;
}

// A crash that left QoE events in `viewing` only is repaired at recovery,
// heartbeats included (they ride `qoe` for the SRE path); a seek is not QoE.
TEST_F(CollectorTest, RecoveryRepairsQoeTopic) {
  {
    auto parsed = ParseBatch(
        Body({EventJson("q", "attempt"), EventJson("h", "heartbeat"), EventJson("s", "seek")}),
        BodyFormat::kJson, kCollectorNow, {});
    ASSERT_TRUE(parsed.ok());
    ASSERT_EQ(parsed->accepted.size(), 3u);
    for (const AcceptedEvent& e : parsed->accepted) {
      ProduceRecord only_viewing{kTopicViewing, e.key, e.encoded, kCollectorNow};
      ASSERT_TRUE(log_->Append({&only_viewing, 1}).ok());
    }
  }
  EXPECT_TRUE(Ids(kTopicQoe).empty());
  Open();
  EXPECT_EQ(Ids(kTopicQoe), (std::multiset<std::string>{"h", "q"}));
  Open();  // idempotent
  EXPECT_EQ(Ids(kTopicQoe), (std::multiset<std::string>{"h", "q"}));
}

// Regression: a crash left a QoE event in `qoe` only; the retry was accepted
// and stored in `qoe` a second time.
TEST_F(CollectorTest, RecoveryCompletesCommitTornTheOtherWay) {
  std::string body = Body({EventJson("q", "attempt")});
  {
    auto parsed = ParseBatch(body, BodyFormat::kJson, kCollectorNow, {});
    ASSERT_TRUE(parsed.ok());
    const AcceptedEvent& e = parsed->accepted[0];
    ProduceRecord only_qoe{kTopicQoe, e.key, e.encoded, kCollectorNow};
    ASSERT_TRUE(log_->Append({&only_qoe, 1}).ok());
  }
  Open();
  EXPECT_EQ(Ids(kTopicViewing), (std::multiset<std::string>{"q"}));
  IngestResponse r = collector_->Ingest(body, BodyFormat::kJson);
  EXPECT_NE(r.body.find("\"accepted\":0,\"duplicates\":1"), std::string::npos) << r.body;
  EXPECT_EQ(Ids(kTopicQoe), (std::multiset<std::string>{"q"}));
}

}  // namespace
}  // namespace viewpipe
