#include "log/record_batch.h"

#include <gtest/gtest.h>

#include <cstring>
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

TEST(RecordBatchTest, InPlaceBatchesReuseTheBufferAndEqualAppendedOnes) {
  // A big batch, then a smaller one written over it, then one that must grow.
  std::string room;
  BatchBuilder b;
  for (int n : {40, 3, 200}) {
    const size_t before = room.size();
    b.BeginInPlace(&room, 1000);
    for (int i = 0; i < n; ++i) {
      b.Add(1000 + (i % 2 == 0 ? i : -i), "key" + std::to_string(i), std::string(i * 7, 'v'));
    }
    const size_t size = b.Finish();
    // The room is kept (a smaller batch leaves it), grown only when needed.
    EXPECT_GE(room.size(), std::max(before, size)) << n;
    SealBatch(room.data(), 42);
    // The batch is the first `size` bytes, byte for byte the appended one.
    EXPECT_EQ(room.substr(0, size), BuildBatch(42, n)) << n;
    BatchHeader h;
    std::string why;
    ASSERT_EQ(CheckBatch(std::string_view(room).substr(0, size), &h, &why), BatchCheck::kOk) << why;
    EXPECT_EQ(h.count, static_cast<uint32_t>(n));
    EXPECT_EQ(h.TotalSize(), size);
  }
}

TEST(RecordBatchTest, AKeyInsideItsValueIsStoredOnceAndReadBack) {
  // The collector's records: the key (session_id) is a slice of the value.
  const std::string value = std::string(40, 'h') + "0f8fad5b-d9cb-469f-a165-70867728950e" + "tail";
  const std::string_view key = std::string_view(value).substr(40, 36);
  std::string ref, copy;
  BatchBuilder b;
  b.Begin(&ref, 5);
  b.Add(5, key, value);
  b.Add(6, std::string_view(value).substr(0, 1), value);              // at position 0
  b.Add(7, std::string_view(value).substr(value.size() - 4), value);  // ends with the value
  b.Finish();
  SealBatch(ref.data(), 3);
  b.Begin(&copy, 5);
  const std::string separate(key);
  b.Add(5, separate, value);
  b.Finish();
  SealBatch(copy.data(), 3);

  BatchHeader h;
  std::string why;
  ASSERT_EQ(CheckBatch(ref, &h, &why), BatchCheck::kOk) << why;
  EXPECT_EQ(h.type, kBatchTypeDataKeyRef);
  std::vector<ConsumedRecord> out;
  ASSERT_EQ(DecodeBatch(ref, h, 0, 10, &out).value(), 3u);
  EXPECT_EQ(out[0].key, key);
  EXPECT_EQ(out[0].value, value);
  EXPECT_EQ(out[1].key, "h");
  EXPECT_EQ(out[2].key, "tail");
  // The key stored as a position costs 2 bytes, a copy 1 + 36.
  std::vector<ConsumedRecord> one;
  ASSERT_EQ(CheckBatch(copy, &h, &why), BatchCheck::kOk);
  ASSERT_EQ(DecodeBatch(copy, h, 0, 10, &one).value(), 1u);
  EXPECT_EQ(one[0].key, key);
  const size_t one_ref = 1 + 1 + 1 + 1 + value.size();  // ts, klen, kpos, vlen, value
  EXPECT_EQ(copy.size(), kBatchHeaderSize + one_ref + 36);
}

TEST(RecordBatchTest, TypeOneBatchesAreStillRead) {
  // A batch as the first format wrote it: keys inline, no key position.
  std::string data(kBatchHeaderSize, '\0');
  data += '\x02';                 // zigzag(ts delta 1)
  data += '\x03';                 // key length
  data += "abc";
  data += '\x02';                 // value length
  data += "xy";
  const uint32_t length = static_cast<uint32_t>(data.size() - 4);
  std::memcpy(data.data(), &length, 4);
  data[8] = static_cast<char>(kBatchMagic);
  data[9] = static_cast<char>(kBatchTypeData);
  const uint32_t count = 1;
  std::memcpy(data.data() + 20, &count, 4);
  const int64_t ts = 100;
  std::memcpy(data.data() + 24, &ts, 8);
  std::memcpy(data.data() + 32, &ts, 8);
  SealBatch(data.data(), 9);
  BatchHeader h;
  std::string why;
  ASSERT_EQ(CheckBatch(data, &h, &why), BatchCheck::kOk) << why;
  std::vector<ConsumedRecord> out;
  ASSERT_EQ(DecodeBatch(data, h, 0, 10, &out).value(), 1u);
  EXPECT_EQ(out[0].offset, 9);
  EXPECT_EQ(out[0].timestamp_ms, 101);
  EXPECT_EQ(out[0].key, "abc");
  EXPECT_EQ(out[0].value, "xy");
}

TEST(RecordBatchTest, AKeyPositionPastItsValueIsCorrupt) {
  const std::string value = "0123456789";
  for (int bad_end : {11, 12, 40}) {  // the key would end past the value
    std::string data;
    BatchBuilder b;
    b.Begin(&data, 0);
    b.Add(0, std::string_view(value).substr(6, 4), value);  // kpos 7, klen 4: ends at 10
    b.Finish();
    // Record: ts(1) klen(1) kpos(1) ...: move the key's position.
    data[kBatchHeaderSize + 2] = static_cast<char>(bad_end - 4 + 1);
    SealBatch(data.data(), 0);
    BatchHeader h;
    std::string why;
    ASSERT_EQ(CheckBatch(data, &h, &why), BatchCheck::kOk);
    std::vector<ConsumedRecord> out;
    EXPECT_TRUE(DecodeBatch(data, h, 0, 10, &out).status().IsCorruption()) << bad_end;
    EXPECT_TRUE(out.empty());
  }
}

TEST(RecordBatchTest, ZeroFilledTailIsCorrupt) {
  std::string zeros(64, '\0');
  BatchHeader h;
  std::string why;
  EXPECT_EQ(CheckBatch(zeros, &h, &why), BatchCheck::kCorrupt);
}

}  // namespace
}  // namespace viewpipe
