#include "opsgroup/partial_counts.h"

#include <gtest/gtest.h>

namespace viewpipe::ops {
namespace {

PartitionReport Report(PartitionId p, Offset next, int64_t as_of, int64_t second, int64_t total,
                       GroupCounts countries) {
  PartitionReport r;
  r.partition = p;
  r.next = next;
  r.has_time = true;
  r.caught_up = true;
  r.watermark = (as_of + 2) * 1000 + 500;
  r.as_of = as_of;
  r.kept_begin = 100;
  r.has_counts = true;
  r.second = second;
  r.total = total;
  r.groups[Index(Dimension::kCountry)] = std::move(countries);
  return r;
}

TEST(PartialCountsTest, SumsEveryPartitionOnceAndSortsLikeOneTracker) {
  std::vector<PartitionReport> all = {
      Report(0, 10, 500, 490, 5, {{"US", 3}, {"DE", 2}}),
      Report(1, 7, 498, 490, 4, {{"DE", 3}, {"FR", 1}}),
      Report(2, 3, 499, 490, 2, {{"FR", 2}}),
  };
  const auto reports = NewestReports(all);
  EXPECT_TRUE(MissingPartitions(reports, 3).empty());
  const MergedRange range = RangeOf(reports);
  EXPECT_EQ(range.as_of, 498);  // complete in every partition
  EXPECT_EQ(range.kept_begin, 100);
  EXPECT_EQ(range.live_second, 500);  // partition 1's running second
  auto sum = SumCounts(reports, 490, Dimension::kCountry);
  ASSERT_TRUE(sum.ok()) << sum.status().ToString();
  EXPECT_EQ(sum->total, 11);
  // DE 5, then FR 3 and US 3 by name.
  EXPECT_EQ(sum->groups, (GroupCounts{{"DE", 5}, {"FR", 3}, {"US", 3}}));
}

TEST(PartialCountsTest, APartitionReportedTwiceCountsOnceFromTheFurtherState) {
  // While partition 1 moves, its old owner (at offset 7) and its new owner
  // (restored at 5, replaying) both report it.
  std::vector<PartitionReport> all = {
      Report(0, 10, 500, 490, 5, {{"US", 5}}),
      Report(1, 5, 470, 490, 1, {{"DE", 1}}),
      Report(1, 7, 500, 490, 4, {{"DE", 4}}),
  };
  const auto reports = NewestReports(all);
  ASSERT_EQ(reports.size(), 2u);
  EXPECT_EQ(reports.at(1).next, 7);
  auto sum = SumCounts(reports, 490, Dimension::kCountry);
  ASSERT_TRUE(sum.ok());
  EXPECT_EQ(sum->total, 9);
  EXPECT_EQ(sum->groups, (GroupCounts{{"US", 5}, {"DE", 4}}));
}

TEST(PartialCountsTest, MissingPartitionsAreNamedNeverZero) {
  PartitionReport empty_caught_up;  // no events ever: counts 0
  empty_caught_up.partition = 2;
  empty_caught_up.caught_up = true;
  PartitionReport replaying;  // no time yet but records wait: not countable
  replaying.partition = 3;
  std::vector<PartitionReport> all = {Report(0, 10, 500, 490, 5, {}), empty_caught_up, replaying};
  const auto reports = NewestReports(all);
  EXPECT_EQ(MissingPartitions(reports, 5), (std::vector<PartitionId>{1, 3, 4}));
  EXPECT_EQ(PartitionList(MissingPartitions(reports, 5)), "1, 3, 4");
  std::map<PartitionId, PartitionReport> without_3 = reports;
  without_3.erase(3);
  auto sum = SumCounts(without_3, 490, std::nullopt);  // partition 2 adds nothing
  ASSERT_TRUE(sum.ok());
  EXPECT_EQ(sum->total, 5);
}

TEST(PartialCountsTest, CountsForAnotherSecondAreRefused) {
  std::vector<PartitionReport> all = {Report(0, 10, 500, 490, 5, {}),
                                      Report(1, 10, 500, 491, 5, {})};
  auto sum = SumCounts(NewestReports(all), 490, std::nullopt);
  ASSERT_FALSE(sum.ok());
  EXPECT_NE(sum.status().ToString().find("partition 1"), std::string::npos);
  PartitionReport no_counts = Report(2, 1, 500, 490, 1, {});
  no_counts.has_counts = false;
  auto sum2 = SumCounts(NewestReports({no_counts}), 490, std::nullopt);
  EXPECT_FALSE(sum2.ok());
}

TEST(PartialCountsTest, ReportsRoundTripThroughJson) {
  PartitionReport a = Report(3, 1234567890123, 1700000123, 1700000120, 42,
                             {{"US", 40}, {"D\"E", 2}});
  a.groups[Index(Dimension::kTitle)] = {{"t1", 42}};
  a.points = {{1700000100, 3}, {1700000110, 5}};
  PartitionReport b;
  b.partition = 1;
  b.next = 0;
  std::string json = "{\"instance\":\"x\",\"partitions\":[";
  AppendReportJson(a, &json);
  json += ',';
  AppendReportJson(b, &json);
  json += "]}";
  std::vector<PartitionReport> back;
  ASSERT_TRUE(ParseReports(json, &back).ok()) << json;
  ASSERT_EQ(back.size(), 2u);
  EXPECT_EQ(back[0].partition, 3);
  EXPECT_EQ(back[0].next, a.next);
  EXPECT_EQ(back[0].watermark, a.watermark);
  EXPECT_EQ(back[0].as_of, a.as_of);
  EXPECT_EQ(back[0].kept_begin, a.kept_begin);
  EXPECT_TRUE(back[0].has_counts);
  EXPECT_EQ(back[0].second, a.second);
  EXPECT_EQ(back[0].total, 42);
  EXPECT_EQ(back[0].groups, a.groups);
  EXPECT_EQ(back[0].points, a.points);
  EXPECT_FALSE(back[1].has_time);
  EXPECT_FALSE(back[1].has_counts);
  EXPECT_FALSE(ParseReports("{\"partitions\":[{\"partition\":1}]}", &back).ok());
  EXPECT_FALSE(ParseReports("not json", &back).ok());
}

}  // namespace
}  // namespace viewpipe::ops
