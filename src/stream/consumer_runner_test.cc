// ConsumerRunner following a consumer group's rebalances, on a scripted fake
// consumer: which records reach the processor, what Reassign is told, where
// gained partitions are sought, and that a one-state processor refuses.

#include "stream/consumer_runner.h"

#include <gtest/gtest.h>

#include <deque>
#include <mutex>
#include <thread>

namespace viewpipe {
namespace {

// One Poll's worth: the assignment the group gives before it, and records.
struct Step {
  std::vector<PartitionId> assignment;
  std::vector<std::pair<PartitionId, Offset>> records;
};

class FakeConsumer final : public Consumer {
 public:
  FakeConsumer(std::vector<PartitionId> first, std::deque<Step> steps)
      : assignment_(std::move(first)), steps_(std::move(steps)) {}
  Result<std::vector<ConsumedRecord>> Poll(size_t, std::chrono::milliseconds) override {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<ConsumedRecord> out;
    if (steps_.empty()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
      return out;
    }
    Step step = std::move(steps_.front());
    steps_.pop_front();
    assignment_ = step.assignment;
    for (const auto& [p, o] : step.records) out.push_back({p, o, 0, "k", "v"});
    return out;
  }
  Status Commit(const std::map<PartitionId, Offset>&) override { return Status::OK(); }
  std::vector<PartitionId> Assignment() const override { return assignment_; }
  Status Seek(PartitionId p, Offset offset) override {
    std::lock_guard<std::mutex> lock(mu_);
    seeks_.emplace_back(p, offset);
    return Status::OK();
  }
  bool done() {
    std::lock_guard<std::mutex> lock(mu_);
    return steps_.empty();
  }
  std::vector<std::pair<PartitionId, Offset>> seeks() {
    std::lock_guard<std::mutex> lock(mu_);
    return seeks_;
  }

 private:
  std::mutex mu_;
  std::vector<PartitionId> assignment_;
  std::deque<Step> steps_;
  std::vector<std::pair<PartitionId, Offset>> seeks_;
};

class FakeLog final : public Log {
 public:
  explicit FakeLog(std::unique_ptr<FakeConsumer> c) : consumer_(std::move(c)), raw_(consumer_.get()) {}
  int Partitions(std::string_view) const override { return 4; }
  Status Append(std::span<const ProduceRecord>, std::vector<Offset>*) override {
    return Status::OK();
  }
  Offset StartOffset(std::string_view, PartitionId) const override { return 0; }
  Offset EndOffset(std::string_view, PartitionId) const override { return 100; }
  Result<std::unique_ptr<Consumer>> Subscribe(std::string_view, std::string_view) override {
    return std::unique_ptr<Consumer>(std::move(consumer_));
  }
  Result<std::map<PartitionId, Offset>> Committed(std::string_view,
                                                  std::string_view) const override {
    return std::map<PartitionId, Offset>{};
  }
  Result<std::unique_ptr<RecordReader>> NewReader(std::string_view, PartitionId,
                                                  Offset) const override {
    return Status::NotFound("fake");
  }
  std::vector<GroupLag> Lags() const override { return {}; }
  uint64_t SizeBytes() const override { return 0; }
  FakeConsumer* consumer() { return raw_; }

 private:
  std::unique_ptr<FakeConsumer> consumer_;
  FakeConsumer* raw_;
};

class RecordingProcessor final : public Processor {
 public:
  explicit RecordingProcessor(bool per_partition) : per_partition_(per_partition) {}
  Result<std::map<PartitionId, Offset>> Restore() override {
    return std::map<PartitionId, Offset>{};
  }
  Status Process(std::span<const ConsumedRecord> records) override {
    std::lock_guard<std::mutex> lock(mu_);
    for (const ConsumedRecord& r : records) processed.emplace_back(r.partition, r.offset);
    return Status::OK();
  }
  bool PerPartitionState() const override { return per_partition_; }
  Result<std::map<PartitionId, Offset>> Reassign(const std::vector<PartitionId>& lost,
                                                 const std::vector<PartitionId>& gained) override {
    if (!per_partition_) return Processor::Reassign(lost, gained);
    std::lock_guard<std::mutex> lock(mu_);
    calls.emplace_back(lost, gained);
    std::map<PartitionId, Offset> at;
    for (PartitionId p : gained) at[p] = 10 * (p + 1);  // "its checkpoint"
    return at;
  }
  std::mutex mu_;
  std::vector<std::pair<PartitionId, Offset>> processed;
  std::vector<std::pair<std::vector<PartitionId>, std::vector<PartitionId>>> calls;

 private:
  bool per_partition_;
};

void RunUntilDone(FakeLog* log, ConsumerRunner* runner) {
  ASSERT_TRUE(runner->Start().ok());
  for (int i = 0; i < 2000 && !log->consumer()->done(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // the last step's processing
  runner->Stop();
}

using Parts = std::vector<PartitionId>;

TEST(ConsumerRunnerTest, FollowsRebalancesOfAPerPartitionProcessor) {
  std::deque<Step> steps = {
      {{0, 1, 2, 3}, {{0, 0}, {2, 0}}},
      // 2 and 3 go to another member; their records in this batch are not ours.
      {{0, 1}, {{0, 1}, {2, 1}, {3, 0}, {1, 0}}},
      // Mid-rebalance: no partitions for a moment, then the same ones back.
      {{}, {}},
      {{0, 1}, {{1, 1}}},
      // 3 comes back (the other member died): read from its checkpoint.
      {{0, 1, 3}, {{3, 2}, {0, 2}}},
  };
  auto consumer = std::make_unique<FakeConsumer>(Parts{0, 1, 2, 3}, std::move(steps));
  FakeLog log(std::move(consumer));
  RecordingProcessor processor(true);
  ConsumerRunner runner(&log, &processor, nullptr, {"g", "t"});
  RunUntilDone(&log, &runner);
  EXPECT_TRUE(runner.error().ok()) << runner.error().ToString();
  ASSERT_EQ(processor.calls.size(), 3u);
  EXPECT_EQ(processor.calls[0], std::make_pair(Parts{}, Parts{0, 1, 2, 3}));
  EXPECT_EQ(processor.calls[1], std::make_pair(Parts{2, 3}, Parts{}));
  EXPECT_EQ(processor.calls[2], std::make_pair(Parts{}, Parts{3}));
  const std::vector<std::pair<PartitionId, Offset>> want = {
      {0, 0}, {2, 0}, {0, 1}, {1, 0}, {1, 1}, {0, 2}};
  EXPECT_EQ(processor.processed, want);
  const auto seeks = log.consumer()->seeks();
  ASSERT_FALSE(seeks.empty());
  EXPECT_EQ(seeks.back(), std::make_pair(PartitionId{3}, Offset{40}));
}

TEST(ConsumerRunnerTest, AOneStateProcessorStopsWhenPartitionsMove) {
  std::deque<Step> steps = {
      {{0, 1, 2, 3}, {{0, 0}}},
      {{}, {}},               // a revoke alone changes nothing
      {{0, 1, 2, 3}, {{1, 0}}},
      {{0, 1}, {{0, 1}, {2, 1}}},  // another process joined
  };
  auto consumer = std::make_unique<FakeConsumer>(Parts{0, 1, 2, 3}, std::move(steps));
  FakeLog log(std::move(consumer));
  RecordingProcessor processor(false);
  ConsumerRunner runner(&log, &processor, nullptr, {"lake", "t"});
  RunUntilDone(&log, &runner);
  EXPECT_EQ(runner.error().ToString().find("runs as one process only") == std::string::npos,
            false)
      << runner.error().ToString();
  // Nothing of the batch that came with the move was processed.
  const std::vector<std::pair<PartitionId, Offset>> want = {{0, 0}, {1, 0}};
  EXPECT_EQ(processor.processed, want);
}

}  // namespace
}  // namespace viewpipe
