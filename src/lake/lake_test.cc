#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include <spdlog/spdlog.h>

#include "common/fault_injection_env.h"
#include "common/sanitizer.h"
#include "common/scoped_temp_dir.h"
#include "lake/lake_test_util.h"
#include "lake/lake_writer.h"
#include "lake/local_object_store.h"
#include "lake/manifest.h"

namespace viewpipe {
namespace {

TEST(EventDateTest, RoundTripsAndPartitions) {
  EXPECT_EQ(EventDate::OfMs(kDay0).ToString(), "2025-01-01");
  EXPECT_EQ(EventDate::OfMs(kDay0 - 1).ToString(), "2024-12-31");
  EXPECT_EQ(HourOfMs(kDay0 + 3 * kMsPerHour + 5), 3);
  EXPECT_EQ(HourOfMs(kDay0 - 1), 23);
  EXPECT_EQ(EventDate::Parse("2024-02-29")->ToString(), "2024-02-29");
  EXPECT_FALSE(EventDate::Parse("2025-02-29"));
  EXPECT_FALSE(EventDate::Parse("2025-1-01"));
  EXPECT_EQ(EventDate::Parse("1970-01-01")->days, 0);
}

TEST(ManifestTest, DayManifestRoundTripAndChecksum) {
  DayManifest m;
  m.date = *EventDate::Parse("2025-01-02");
  m.version = 7;
  m.sealed = true;
  m.late = {3, 5000, 1};
  m.files.push_back({DataFileKey(m.date, 4, "part-1.parquet"), 4, 100, 2000, 10, 20, 0xdeadbeef});
  std::string json = EncodeDayManifest(m);
  auto back = DecodeDayManifest(json);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->files.size(), 1u);
  EXPECT_EQ(back->files[0].key, "events/event_date=2025-01-02/hour=04/part-1.parquet");
  EXPECT_EQ(back->files[0].crc32c, 0xdeadbeefu);
  EXPECT_EQ(back->late.events, 3);
  EXPECT_TRUE(back->sealed);
  // A changed row count no longer matches the checksum.
  std::string bad = json;
  bad.replace(bad.find("\"hour\":4,\"rows\":100"), 19, "\"hour\":4,\"rows\":101");
  EXPECT_TRUE(DecodeDayManifest(bad).status().IsCorruption());
  bad = json;  // the day's totals must match its files
  bad.replace(bad.find("\"rows\":100"), 10, "\"rows\":101");
  EXPECT_TRUE(DecodeDayManifest(bad).status().IsCorruption());
  EXPECT_TRUE(DecodeDayManifest("{").status().IsCorruption());
  EXPECT_TRUE(DecodeDayManifest("{\"format\":\"other\"}").status().IsCorruption());
}

TEST(ManifestTest, RootRoundTrip) {
  RootManifest r;
  r.version = 3;
  r.offsets = {{0, 10}, {3, 7}};
  r.days[*EventDate::Parse("2025-01-01")] = DayRef{2, "", true, 10, 100, 1};
  r.pending = {{"_staging/a", "events/a"}};
  r.tombstones = {{"events/b", 123}};
  r.touched = {*EventDate::Parse("2025-01-01")};
  auto back = DecodeRootManifest(EncodeRootManifest(r));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->offsets, r.offsets);
  EXPECT_EQ(back->days.begin()->second.manifest, 2);
  EXPECT_EQ(back->pending[0].to, "events/a");
  EXPECT_EQ(back->tombstones[0].delete_after_ms, 123);
  EXPECT_EQ(back->touched.size(), 1u);
  EXPECT_TRUE(back->watermarks.empty());  // a one-writer root has none
  r.watermarks = {{0, 1000}, {3, 900}};
  r.days.begin()->second.tag = "0a1b2c";
  back = DecodeRootManifest(EncodeRootManifest(r));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->watermarks, r.watermarks);
  EXPECT_EQ(back->days.begin()->second.tag, "0a1b2c");
}

// The ObjectStore contract, against the local implementation.
TEST(ObjectStoreTest, LocalHonoursTheContract) {
  ScopedTempDir tmp;
  LocalObjectStore store(Env::Default(), tmp.path() + "/lake");
  EXPECT_TRUE(store.Get("a/b").status().IsNotFound());
  ASSERT_TRUE(store.Put("a/b/c.json", "one").ok());
  ASSERT_TRUE(store.Put("a/b/c.json", "two").ok());
  EXPECT_EQ(store.Get("a/b/c.json").value(), "two");
  ASSERT_TRUE(store.Put("a/x", "x").ok());
  ASSERT_TRUE(store.Put("b/y", "yy").ok());
  auto list = store.List("a/");
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].key, "a/b/c.json");
  EXPECT_EQ((*list)[1].key, "a/x");
  EXPECT_EQ(store.Size("b/y").value(), 2u);
  ASSERT_TRUE(store.Rename("b/y", "c/d/y").ok());
  EXPECT_FALSE(store.Exists("b/y"));
  EXPECT_EQ(store.Get("c/d/y").value(), "yy");
  EXPECT_TRUE(store.Delete("c/d/y").ok());
  EXPECT_TRUE(store.Delete("c/d/y").ok());  // missing is fine
  EXPECT_EQ(store.List("")->size(), 2u);
  std::string local = tmp.path() + "/local.bin";
  ASSERT_TRUE(Env::Default()->WriteFileAtomic(local, "payload").ok());
  uint32_t crc = 0;
  ASSERT_TRUE(store.PutFile("f/g.bin", local, &crc).ok());
  EXPECT_EQ(store.Get("f/g.bin").value(), "payload");
  EXPECT_NE(crc, 0u);
}

TEST(EventIdSetTest, InsertsFindsAndErases) {
  EventIdSet set;
  for (int i = 0; i < 5000; ++i) EXPECT_TRUE(set.Insert(EventIdHash("id" + std::to_string(i))));
  for (int i = 0; i < 5000; ++i) EXPECT_FALSE(set.Insert(EventIdHash("id" + std::to_string(i))));
  EXPECT_EQ(set.size(), 5000u);
  EXPECT_TRUE(set.Insert(0));
  EXPECT_TRUE(set.Contains(0));
  for (int i = 0; i < 5000; i += 2) set.Erase(EventIdHash("id" + std::to_string(i)));
  for (int i = 0; i < 5000; ++i) {
    EXPECT_EQ(set.Contains(EventIdHash("id" + std::to_string(i))), i % 2 == 1) << i;
  }
}

class LakeWriterTest : public ::testing::Test {
 protected:
  LakeWriterTest() : clock_(kDay0 + 3600 * 1000) {}

  LakeWriterOptions Options(Env* env, ObjectStore* store) {
    LakeWriterOptions o;
    o.store = store;
    o.env = env;
    o.clock = &clock_;
    o.parquet.scratch_dir = tmp_.path() + "/scratch";
    o.parquet.zstd_level = 1;
    o.seal_grace_ms = 3600 * 1000;
    o.hour_close_ms = 60 * 1000;
    o.tombstone_grace_ms = 1000;
    o.staging_grace_ms = 0;  // one writer: recovery drops every unnamed upload
    return o;
  }
  std::unique_ptr<LakeWriter> Open(const LakeWriterOptions& o) {
    auto w = LakeWriter::Open(o);
    EXPECT_TRUE(w.ok()) << w.status().ToString();
    return w.ok() ? std::move(w).value() : nullptr;
  }
  static void Add(LakeWriter* w, const OwnedEvent& e, bool expect_added = true) {
    auto r = w->Add(e.view());
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(*r, expect_added) << e.event_id;
  }

  ScopedTempDir tmp_;
  ManualClock clock_;
};

TEST_F(LakeWriterTest, WritesHivePartitionsByEventTime) {
  LocalObjectStore store(Env::Default(), tmp_.path() + "/lake");
  auto w = Open(Options(Env::Default(), &store));
  // Arrival order is not event-time order: a late event from the previous day.
  Add(w.get(), MakeEvent(1, kDay0 + 5 * kMsPerHour + 1));
  Add(w.get(), MakeEvent(2, kDay0 + 5 * kMsPerHour + 2));
  Add(w.get(), MakeEvent(3, kDay0 - 2 * kMsPerHour, 26 * kMsPerHour));
  Add(w.get(), MakeEvent(4, kDay0 + 23 * kMsPerHour));
  std::map<PartitionId, Offset> offsets = {{0, 4}};
  ASSERT_TRUE(w->Flush(&offsets).ok());
  EXPECT_EQ(w->root().offsets, offsets);
  EXPECT_EQ(w->root().days.size(), 2u);

  auto keys = store.List("events/");
  ASSERT_TRUE(keys.ok());
  std::set<std::string> dirs;
  for (const ObjectInfo& o : *keys) {
    if (o.key.ends_with(".parquet")) dirs.insert(o.key.substr(0, o.key.rfind('/')));
  }
  EXPECT_EQ(dirs, (std::set<std::string>{"events/event_date=2024-12-31/hour=22",
                                         "events/event_date=2025-01-01/hour=05",
                                         "events/event_date=2025-01-01/hour=23"}));
  LakeReader reader(&store);
  auto rows = ReadLakeRows(&reader);
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[2], (std::pair<std::string, std::string>{"ev-3", "2024-12-31"}));
  // Staging is empty after a commit; nothing but committed files under events/.
  EXPECT_TRUE(store.List(kStagingPrefix)->empty());

  // Pruning: only the hour of the range.
  LakeRange r;
  r.min_ms = kDay0 + 5 * kMsPerHour;
  r.max_ms = kDay0 + 5 * kMsPerHour + 10;
  auto files = reader.Files(r);
  ASSERT_TRUE(files.ok());
  ASSERT_EQ(files->size(), 1u);
  EXPECT_EQ((*files)[0].rows, 2);
}

TEST_F(LakeWriterTest, EachEventIdOncePerDayAcrossFlushesAndRestarts) {
  LocalObjectStore store(Env::Default(), tmp_.path() + "/lake");
  auto options = Options(Env::Default(), &store);
  {
    auto w = Open(options);
    Add(w.get(), MakeEvent(1, kDay0 + 1000));
    Add(w.get(), MakeEvent(1, kDay0 + 1000), false);  // within the buffer
    ASSERT_TRUE(w->Flush(nullptr).ok());
    Add(w.get(), MakeEvent(1, kDay0 + 1000), false);  // after the flush
    // The same id on another day is another partition: kept there.
    Add(w.get(), MakeEvent(1, kDay0 + kMsPerDay + 1000));
    ASSERT_TRUE(w->Flush(nullptr).ok());
    EXPECT_EQ(w->stats().duplicates, 2u);
  }
  auto w = Open(options);  // ids reloaded from the committed files
  Add(w.get(), MakeEvent(1, kDay0 + 2000), false);
  Add(w.get(), MakeEvent(2, kDay0 + 2000));
  ASSERT_TRUE(w->Flush(nullptr).ok());
  LakeReader reader(&store);
  EXPECT_EQ(ReadLakeRows(&reader).size(), 3u);
}

TEST_F(LakeWriterTest, CompactsClosedHoursAndSealsWithLateData) {
  LocalObjectStore store(Env::Default(), tmp_.path() + "/lake");
  auto w = Open(Options(Env::Default(), &store));
  for (int i = 0; i < 30; ++i) {
    Add(w.get(), MakeEvent(i, kDay0 + (i % 3) * kMsPerHour + i));
    if (i % 5 == 4) {
      ASSERT_TRUE(w->Flush(nullptr).ok());  // six flushes: six small files per hour
    }
  }
  EventDate d0 = EventDate::OfMs(kDay0);
  EXPECT_EQ(w->root().days.at(d0).files, 18);
  // Hours 0 and 1 are closed at 02:01:01, hour 2 is not.
  ASSERT_TRUE(w->Maintain(kDay0 + 2 * kMsPerHour + 61 * 1000).ok());
  EXPECT_EQ(w->root().days.at(d0).files, 6 + 2);
  EXPECT_EQ(w->root().days.at(d0).rows, 30);
  EXPECT_FALSE(w->root().days.at(d0).sealed);
  LakeReader reader(&store);
  EXPECT_EQ(ReadLakeRows(&reader).size(), 30u);

  // Past the day's end + grace: hour 2 compacted; sealing waits until the
  // replaced files are gone (a Hive reader of a sealed day sees no extras).
  clock_.Set(kDay0 + kMsPerDay + 3600 * 1000 + 1);
  ASSERT_TRUE(w->Maintain(clock_.NowMs()).ok());
  EXPECT_EQ(w->root().days.at(d0).files, 3);
  EXPECT_FALSE(w->root().days.at(d0).sealed);
  clock_.Advance(2000);
  ASSERT_TRUE(w->Maintain(clock_.NowMs()).ok());
  ASSERT_TRUE(w->Maintain(clock_.NowMs()).ok());
  EXPECT_TRUE(w->root().days.at(d0).sealed);
  auto success = store.Get(SuccessKey(d0));
  ASSERT_TRUE(success.ok()) << success.status().ToString();
  EXPECT_NE(success->find("\"rows\":30"), std::string::npos) << *success;
  // The day directory holds exactly the manifest's files.
  auto listed = store.List(DayPrefix(d0));
  int parquet = 0;
  for (const ObjectInfo& o : *listed) parquet += o.key.ends_with(".parquet");
  EXPECT_EQ(parquet, 3);

  // A late event after the seal: written, a new manifest version, reported.
  OwnedEvent late = MakeEvent(100, kDay0 + 10 * kMsPerHour, 0);
  late.received_at_ms = kDay0 + kMsPerDay + 5 * 3600 * 1000;
  Add(w.get(), late);
  Add(w.get(), MakeEvent(5, kDay0 + 5), false);  // an old duplicate: dropped
  ASSERT_TRUE(w->Flush(nullptr).ok());
  auto day = w->committer()->Day(d0);
  ASSERT_TRUE(day.ok());
  EXPECT_TRUE(day->sealed);
  EXPECT_EQ(day->late.events, 1);
  EXPECT_EQ(day->late.max_lateness_ms, 5 * 3600 * 1000);
  EXPECT_EQ(day->late.versions, 1);
  EXPECT_EQ(day->Rows(), 31);
  success = store.Get(SuccessKey(d0));
  EXPECT_NE(success->find("\"rows\":31"), std::string::npos) << *success;
  EXPECT_EQ(ReadLakeRows(&reader).size(), 31u);
}

// Crash at every step of every commit (and of the recovery after it), then
// recover and replay from the offsets the lake recorded: the lake ends with
// exactly the source's events, once each, and its directories hold exactly
// the committed files. The scenario covers every kind of commit: data,
// compaction (with the removal of the replaced files), sealing, and late data
// after the seal.
TEST_F(LakeWriterTest, CrashAtEveryStepLosesAndDuplicatesNothing) {
  // Phase A: 24 events over hours 0-1 of day 0 and two duplicates of earlier
  // ones (beyond any dedup window), in two batches. Then the day closes:
  // compaction and sealing. Phase B: a late event and another duplicate.
  std::vector<OwnedEvent> source;
  for (int i = 0; i < 24; ++i) source.push_back(MakeEvent(i, kDay0 + (i % 2) * kMsPerHour + i));
  source.push_back(MakeEvent(7, kDay0 + kMsPerHour + 7));
  source.push_back(MakeEvent(8, kDay0 + 8));
  const size_t kPhaseA = source.size();
  OwnedEvent late = MakeEvent(1000, kDay0 + 20 * kMsPerHour);
  late.received_at_ms = kDay0 + kMsPerDay + 3 * 3600 * 1000;
  source.push_back(late);
  OwnedEvent dup = MakeEvent(3, kDay0 + kMsPerHour + 3);
  dup.received_at_ms = late.received_at_ms;
  source.push_back(dup);
  const size_t kUnique = 25;
  const EventDate day = EventDate::OfMs(kDay0);

  auto run = [&](int crash_at, int* steps) -> bool {
    ScopedTempDir dir;
    FaultInjectionEnv env(Env::Default());
    LocalObjectStore store(&env, dir.path() + "/lake");
    ManualClock clock(kDay0);
    int calls = 0;
    bool crashed = false;
    auto options = Options(&env, &store);
    options.clock = &clock;
    options.parquet.scratch_dir = dir.path() + "/scratch";
    options.probe = [&](std::string_view step) {
      if (++calls == crash_at && !crashed) {
        crashed = true;
        return Status::Aborted("crash at " + std::string(step));
      }
      return Status::OK();
    };
    std::unique_ptr<LakeWriter> w;
    auto ok = [&](Status st) {
      if (st.ok()) return true;
      EXPECT_EQ(st.code(), Status::Code::kAborted) << st.ToString();
      w.reset();  // the process dies: nothing more reaches the disk
      EXPECT_TRUE(env.DropUnsyncedData().ok());
      return false;
    };
    auto feed = [&](size_t* pos, size_t end) {
      size_t stop = std::min(end, *pos + 13);
      clock.Set(std::max(clock.NowMs(), source[stop - 1].received_at_ms));
      for (size_t i = *pos; i < stop; ++i) EXPECT_TRUE(w->Add(source[i].view()).ok());
      std::map<PartitionId, Offset> offsets = {{0, static_cast<Offset>(stop)}};
      if (!ok(w->Flush(&offsets))) return false;
      *pos = stop;
      return ok(w->Maintain(clock.NowMs()));
    };
    for (int restarts = 0; restarts < 4; ++restarts) {
      auto opened = LakeWriter::Open(options);
      if (!ok(opened.status())) continue;
      w = std::move(opened).value();
      auto it = w->root().offsets.find(0);
      size_t pos = it == w->root().offsets.end() ? 0 : static_cast<size_t>(it->second);
      bool alive = true;
      while (alive && pos < kPhaseA) alive = feed(&pos, kPhaseA);
      // The day closes: compaction, then (once the replaced files are gone)
      // the seal.
      for (int i = 0; alive && i < 3 && !w->root().days.at(day).sealed; ++i) {
        clock.Set(std::max(clock.NowMs(), kDay0 + kMsPerDay + 3600 * 1000 + 1));
        clock.Advance(2000);
        alive = ok(w->Maintain(clock.NowMs()));
      }
      while (alive && pos < source.size()) alive = feed(&pos, source.size());
      if (alive) break;
    }
    EXPECT_TRUE(w != nullptr);
    *steps = calls;
    // Exactly once.
    LakeReader reader(&store);
    auto rows = ReadLakeRows(&reader);
    std::set<std::string> ids;
    for (const auto& [id, date] : rows) EXPECT_TRUE(ids.insert(id).second) << "twice: " << id;
    EXPECT_EQ(rows.size(), kUnique);
    // The Hive directories hold exactly the committed files.
    std::set<std::string> committed, listed;
    auto files = reader.Files(LakeRange{});
    auto objects = store.List("events/");
    EXPECT_TRUE(files.ok() && objects.ok());
    for (const LakeFileRef& f : *files) committed.insert(f.key);
    for (const ObjectInfo& o : *objects) {
      if (o.key.ends_with(".parquet")) listed.insert(o.key);
    }
    EXPECT_EQ(committed, listed);
    EXPECT_TRUE(store.List(kStagingPrefix)->empty());
    auto root = reader.Root();
    EXPECT_TRUE(root->days.at(day).sealed);
    auto manifest = reader.Day(day, root->days.at(day));
    EXPECT_TRUE(manifest.ok());
    if (manifest.ok()) {
      EXPECT_EQ(manifest->late.events, 1);
    }
    auto success = store.Get(SuccessKey(day));
    EXPECT_TRUE(success.ok() && success->find("\"rows\":25") != std::string::npos);
    return crashed;
  };

  spdlog::set_level(spdlog::level::err);
  int total = 0;
  EXPECT_FALSE(run(0, &total));
  ASSERT_GT(total, 20);
  RecordProperty("crash_points", total);
  std::printf("crashing at each of %d steps\n", total);
  // Every step; under AddressSanitizer (which slows DuckDB's allocations
  // tenfold) every third, to keep the suite's time in bounds.
  const int stride = kUnderSanitizer ? 3 : 1;
  for (int k = 1; k <= total; k += stride) {
    int steps = 0;
    SCOPED_TRACE("crash at call " + std::to_string(k));
    EXPECT_TRUE(run(k, &steps));
    if (HasFailure()) break;
  }
}

}  // namespace
}  // namespace viewpipe
