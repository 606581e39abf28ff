// Backfill (backfill.h) on a real LakeWriter and local lake.

#include "lake/backfill.h"

#include <gtest/gtest.h>

#include <tuple>

#include "common/scoped_temp_dir.h"
#include "lake/lake_test_util.h"
#include "lake/local_object_store.h"

namespace viewpipe {
namespace {
// A day bigger than flush_rows is committed in chunks, then sealed and
// compacted: the same events as a one-commit backfill of the same seed, one
// file per hour, sealed with the seed (so a rerun skips it).
TEST(BackfillTest, ABigDayIsCommittedInChunksThenSealedAndCompacted) {
  ScopedTempDir tmp;
  ManualClock clock(kDay0 + 3600 * 1000);
  const EventDate end = EventDate::OfMs(kDay0).Next().Next();
  auto backfill = [&](const std::string& dir, int64_t flush_rows) {
    LocalObjectStore store(Env::Default(), tmp.path() + "/" + dir);
    LakeWriterOptions o;
    o.store = &store;
    o.env = Env::Default();
    o.clock = &clock;
    o.parquet.scratch_dir = tmp.path() + "/scratch";
    o.parquet.zstd_level = 1;
    auto opened = LakeWriter::Open(o);
    EXPECT_TRUE(opened.ok()) << opened.status().ToString();
    std::unique_ptr<LakeWriter> w = std::move(opened).value();
    BackfillOptions b;
    b.days = 2;
    b.events_per_day = 6000;
    b.seed = 5;
    b.end_day = end;
    b.flush_rows = flush_rows;
    auto p = RunBackfill(w.get(), b);
    EXPECT_TRUE(p.ok()) << p.status().ToString();
    LakeReader reader(&store);
    auto root = reader.Root();
    EXPECT_TRUE(root.ok());
    auto again = RunBackfill(w.get(), b);
    EXPECT_TRUE(again.ok());
    EXPECT_EQ(again->skipped_days, 2);
    return std::make_tuple(ReadLakeRows(&reader), *root, w->stats().compactions);
  };
  auto [whole_rows, whole_root, whole_compactions] = backfill("whole", 0);
  auto [chunk_rows, chunk_root, chunk_compactions] = backfill("chunks", 700);
  ASSERT_GT(whole_rows.size(), 8000u);
  EXPECT_EQ(chunk_rows, whole_rows);  // every event once, none lost
  EXPECT_EQ(whole_compactions, 0);
  EXPECT_EQ(chunk_compactions, 2);
  for (const auto& [date, ref] : chunk_root.days) {
    EXPECT_TRUE(ref.sealed) << date.ToString();
    EXPECT_EQ(ref.rows, whole_root.days.at(date).rows);
    EXPECT_EQ(ref.files, whole_root.days.at(date).files) << "one file per hour after compaction";
  }
}

}  // namespace
}  // namespace viewpipe
