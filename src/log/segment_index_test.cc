#include "log/segment_index.h"

#include <gtest/gtest.h>

#include "log/segment.h"

namespace viewpipe {
namespace {

TEST(SegmentIndexTest, FloorFindsTheLastEntryAtOrBefore) {
  SegmentIndex idx;
  EXPECT_EQ(idx.Floor(5).position, 0u);
  idx.Add(10, 4096);
  idx.Add(20, 8192);
  EXPECT_EQ(idx.Floor(9).position, 0u);
  EXPECT_EQ(idx.Floor(10).position, 4096u);
  EXPECT_EQ(idx.Floor(19).position, 4096u);
  EXPECT_EQ(idx.Floor(1000).position, 8192u);
  idx.TruncateAt(8192);
  EXPECT_EQ(idx.size(), 1u);
  EXPECT_EQ(idx.last_position(), 4096u);
}

TEST(SegmentIndexTest, EncodeDecodeRoundTrip) {
  SegmentIndex idx;
  idx.Add(10, 4096);
  idx.Add(20, 8192);
  std::string data = idx.Encode({30, 9000, 1234});
  SegmentIndex back;
  SegmentIndex::Trailer t;
  ASSERT_TRUE(SegmentIndex::Decode(data, &back, &t).ok());
  EXPECT_EQ(back.size(), 2u);
  EXPECT_EQ(back.Floor(25).position, 8192u);
  EXPECT_EQ(t.end_relative_offset, 30u);
  EXPECT_EQ(t.log_size, 9000u);
  EXPECT_EQ(t.max_timestamp, 1234);
}

TEST(SegmentIndexTest, DecodeRejectsAnyDamage) {
  SegmentIndex idx;
  idx.Add(10, 4096);
  std::string data = idx.Encode({30, 9000, 1234});
  for (size_t i = 0; i < data.size(); ++i) {
    std::string bad = data;
    bad[i] = static_cast<char>(bad[i] ^ 1);
    SegmentIndex back;
    SegmentIndex::Trailer t;
    EXPECT_FALSE(SegmentIndex::Decode(bad, &back, &t).ok()) << "byte " << i;
  }
  SegmentIndex back;
  SegmentIndex::Trailer t;
  EXPECT_FALSE(SegmentIndex::Decode(data.substr(0, data.size() - 1), &back, &t).ok());
  EXPECT_FALSE(SegmentIndex::Decode("", &back, &t).ok());
}

TEST(SegmentTest, FileNames) {
  EXPECT_EQ(Segment::FileName(42, ".log"), "00000000000000000042.log");
  Offset base = -1;
  EXPECT_TRUE(Segment::ParseLogFileName("00000000000000000042.log", &base));
  EXPECT_EQ(base, 42);
  EXPECT_FALSE(Segment::ParseLogFileName("00000000000000000042.index", &base));
  EXPECT_FALSE(Segment::ParseLogFileName("0000000000000000004x.log", &base));
  EXPECT_FALSE(Segment::ParseLogFileName("42.log", &base));
}

}  // namespace
}  // namespace viewpipe
