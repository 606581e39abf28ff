#include "log/record_batch.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace viewpipe {
namespace {

std::string BuildBatch(Offset base, int n, int64_t ts0 = 1000) {
  std::string out;
  BatchBuilder b;
  b.Begin(&out, ts0);
  for (int i = 0; i < n; ++i) {
    b.Add(ts0 + (i % 2 == 0 ? i : -i), "key" + std::to_string(i), std::string(i * 7, 'v'));
  }
  b.Finish();
  SealBatch(out.data(), base);
  return out;
}

TEST(RecordBatchTest, RoundTrip) {
  std::string data = BuildBatch(42, 5);
  BatchHeader h;
  std::string why;
  ASSERT_EQ(CheckBatch(data, &h, &why), BatchCheck::kOk) << why;
  EXPECT_EQ(h.base_offset, 42);
  EXPECT_EQ(h.count, 5u);
  EXPECT_EQ(h.TotalSize(), data.size());
  EXPECT_EQ(h.max_ts, 1004);
  std::vector<ConsumedRecord> out;
  auto n = DecodeBatch(data, h, 0, 100, &out);
  ASSERT_TRUE(n.ok());
  ASSERT_EQ(*n, 5u);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(out[i].offset, 42 + i);
    EXPECT_EQ(out[i].timestamp_ms, 1000 + (i % 2 == 0 ? i : -i));
    EXPECT_EQ(out[i].key, "key" + std::to_string(i));
    EXPECT_EQ(out[i].value, std::string(i * 7, 'v'));
  }
}

TEST(RecordBatchTest, DecodeFromOffsetAndMax) {
  std::string data = BuildBatch(10, 6);
  BatchHeader h;
  std::string why;
  ASSERT_EQ(CheckBatch(data, &h, &why), BatchCheck::kOk);
  std::vector<ConsumedRecord> out;
  auto n = DecodeBatch(data, h, 12, 3, &out);
  ASSERT_TRUE(n.ok());
  ASSERT_EQ(*n, 3u);
  EXPECT_EQ(out.front().offset, 12);
  EXPECT_EQ(out.back().offset, 14);
}

TEST(RecordBatchTest, ExtremeTimestampsRoundTrip) {
  std::string out;
  BatchBuilder b;
  b.Begin(&out, INT64_MAX);
  b.Add(INT64_MAX, "", "");
  b.Add(INT64_MIN, "", "x");
  b.Add(0, "k", "");
  b.Finish();
  SealBatch(out.data(), 0);
  BatchHeader h;
  std::string why;
  ASSERT_EQ(CheckBatch(out, &h, &why), BatchCheck::kOk);
  std::vector<ConsumedRecord> recs;
  ASSERT_TRUE(DecodeBatch(out, h, 0, 10, &recs).ok());
  EXPECT_EQ(recs[0].timestamp_ms, INT64_MAX);
  EXPECT_EQ(recs[1].timestamp_ms, INT64_MIN);
  EXPECT_EQ(recs[2].timestamp_ms, 0);
}

TEST(RecordBatchTest, EveryTruncationIsDetected) {
  std::string data = BuildBatch(0, 4);
  for (size_t len = 0; len < data.size(); ++len) {
    BatchHeader h;
    std::string why;
    EXPECT_EQ(CheckBatch(std::string_view(data).substr(0, len), &h, &why), BatchCheck::kTruncated)
        << "length " << len;
  }
}

TEST(RecordBatchTest, EveryByteFlipIsDetected) {
  std::string data = BuildBatch(7, 4);
  for (size_t i = 0; i < data.size(); ++i) {
    std::string bad = data;
    bad[i] = static_cast<char>(bad[i] ^ 0x20);
    BatchHeader h;
    std::string why;
    BatchCheck c = CheckBatch(bad, &h, &why);
    // A flipped length can also make the batch look longer than the data.
    EXPECT_NE(c, BatchCheck::kOk) << "byte " << i;
  }
}

TEST(RecordBatchTest, MalformedRecordsWithValidCrcAreRejected) {
  std::string data = BuildBatch(0, 3);
  data[20] = 4;  // claim 4 records where there are 3
  SealBatch(data.data(), 0);
  BatchHeader h;
  std::string why;
  ASSERT_EQ(CheckBatch(data, &h, &why), BatchCheck::kOk);
  std::vector<ConsumedRecord> out;
  EXPECT_TRUE(DecodeBatch(data, h, 0, 10, &out).status().IsCorruption());
  EXPECT_TRUE(out.empty());
}

TEST(RecordBatchTest, ZeroFilledTailIsCorrupt) {
  std::string zeros(64, '\0');
  BatchHeader h;
  std::string why;
  EXPECT_EQ(CheckBatch(zeros, &h, &why), BatchCheck::kCorrupt);
}

}  // namespace
}  // namespace viewpipe
