#include "features/feature_processor.h"

#include <gtest/gtest.h>

#include <fstream>
#include <random>

#include "common/scoped_temp_dir.h"
#include "event/codec.h"
#include "features/feature_fold.h"
#include "features/feature_vector.h"
#include "features/features_test_util.h"
#include "features/rocksdb_feature_store.h"

namespace viewpipe::features {
namespace {

using testing::kT0;

class FeatureProcessorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    catalog_path_ = dir_.path() + "/catalog.csv";
    std::ofstream(catalog_path_) << "title_id,genre,kind,duration_s\nt1,drama,film,3600\n";
    std::mt19937_64 rng(3);
    for (int i = 0; i < 400; ++i) {
      EventView e = f_.Make(i % 7 == 0 ? EventType::kAttempt : EventType::kHeartbeat,
                            kT0 + i * 1000, "p" + std::to_string(rng() % 5), i % 3 ? "t1" : "t2",
                            "s" + std::to_string(rng() % 9));
      e.position_ms = i * 10000;
      std::string value;
      EncodeEvent(e, &value);
      values_.push_back(std::move(value));
    }
  }
  std::vector<ConsumedRecord> Records(size_t from, size_t to) {
    std::vector<ConsumedRecord> r;
    for (size_t i = from; i < to; ++i) {
      r.push_back({static_cast<PartitionId>(i % 2), static_cast<Offset>(i / 2), 0, "", values_[i]});
    }
    return r;
  }
  std::unique_ptr<RocksDbFeatureStore> Open(const std::string& name) {
    auto s = RocksDbFeatureStore::Open(dir_.path() + "/" + name);
    EXPECT_TRUE(s.ok());
    return std::move(s).value();
  }
  // Every profile and title feature vector of a store, as JSON, at `at`.
  std::string Dump(FeatureStore* store, int64_t at) {
    std::string out;
    for (int p = 0; p < 5; ++p) {
      auto v = store->Get({FeatureKind::kProfile, "p" + std::to_string(p)});
      if (!v.ok() || !*v) continue;
      ProfileState s;
      EXPECT_TRUE(DecodeProfileState(**v, &s).ok());
      s.updated_at_ms = 0;
      AppendProfileJson("p", EvaluateProfile(s, at), &out);
    }
    for (const char* t : {"t1", "t2"}) {
      auto v = store->Get({FeatureKind::kTitle, t});
      if (!v.ok() || !*v) continue;
      TitleState s;
      EXPECT_TRUE(DecodeTitleState(**v, &s).ok());
      s.updated_at_ms = 0;
      AppendTitleJson(t, EvaluateTitle(s, at), &out);
    }
    return out;
  }

  ScopedTempDir dir_;
  std::string catalog_path_;
  testing::EventFactory f_;
  std::vector<std::string> values_;
  ManualClock clock_{kT0};
  MetricsRegistry metrics_;
};

TEST_F(FeatureProcessorTest, WritesFeaturesWithTheOffsetsAndCountsCatalogMisses) {
  auto store = Open("a");
  FeatureProcessor p(store.get(), catalog_path_, &clock_, &metrics_);
  ASSERT_TRUE(p.Restore().ok());
  auto recs = Records(0, 100);
  ASSERT_TRUE(p.Process(recs).ok());
  auto offsets = store->Offsets();
  ASSERT_TRUE(offsets.ok());
  EXPECT_EQ(*offsets, (std::map<PartitionId, Offset>{{0, 50}, {1, 50}}));
  auto v = store->Get({FeatureKind::kProfile, "p0"});
  ASSERT_TRUE(v.ok() && v->has_value());
  ProfileState s;
  ASSERT_TRUE(DecodeProfileState(**v, &s).ok());
  EXPECT_EQ(s.updated_at_ms, kT0);
  ProfileFeatures f = EvaluateProfile(s, kT0 + 100000);
  EXPECT_TRUE(f.watch_seconds_7d.count("drama"));
  const std::string prom = metrics_.RenderPrometheus();
  EXPECT_NE(prom.find("viewpipe_features_catalog_misses_total 34"), std::string::npos) << prom;
  EXPECT_NE(prom.find("viewpipe_features_events_total 100"), std::string::npos);
}

// A crash between batches: a new processor resumes at the stored offsets
// and ends with exactly the features of one uninterrupted run.
TEST_F(FeatureProcessorTest, RestartResumesAtTheStoredOffsetsWithoutDoubleCounting) {
  auto whole = Open("whole");
  {
    FeatureProcessor p(whole.get(), catalog_path_, &clock_, nullptr);
    ASSERT_TRUE(p.Restore().ok());
    ASSERT_TRUE(p.Process(Records(0, 400)).ok());
  }
  auto split = Open("split");
  {
    FeatureProcessor p(split.get(), catalog_path_, &clock_, nullptr);
    ASSERT_TRUE(p.Restore().ok());
    ASSERT_TRUE(p.Process(Records(0, 150)).ok());
  }  // "killed" here; the log redelivers from the group's older commit:
  FeatureProcessor p(split.get(), catalog_path_, &clock_, nullptr);
  auto offsets = p.Restore();
  ASSERT_TRUE(offsets.ok());
  EXPECT_EQ(*offsets, (std::map<PartitionId, Offset>{{0, 75}, {1, 75}}));
  // The runner seeks to the restored offsets, so only the rest comes.
  ASSERT_TRUE(p.Process(Records(150, 400)).ok());
  const int64_t end = kT0 + 400 * 1000;
  EXPECT_EQ(Dump(split.get(), end), Dump(whole.get(), end));
  EXPECT_NE(Dump(whole.get(), end).find("\"sessions_7d\":"), std::string::npos);
}

TEST_F(FeatureProcessorTest, SweepDeletesOnlySessionMarksPastTheRetention) {
  auto store = Open("sweep");
  FeatureProcessor p(store.get(), catalog_path_, &clock_, nullptr);
  ASSERT_TRUE(p.Restore().ok());
  ASSERT_TRUE(p.Process(Records(0, 400)).ok());
  auto count = [&] {
    int n = 0;
    EXPECT_TRUE(store->Scan(FeatureKind::kSession, [&](auto, auto) { return ++n > 0; }).ok());
    return n;
  };
  const int marks = count();
  ASSERT_GT(marks, 5);
  // One event a second up to kT0 + 399 s: a clock 8 days after kT0 + 395 s
  // deletes the marks whose newest event is older than that (all but <= 5).
  clock_.Set(kT0 + 395000 + kSessionMarkRetentionMs);
  auto swept = p.SweepSessionMarks();
  ASSERT_TRUE(swept.ok());
  EXPECT_EQ(*swept + count(), marks);
  EXPECT_GT(*swept, 0);
  EXPECT_GT(count(), 0);
  EXPECT_LE(count(), 5);
  clock_.Set(kT0 + 400000 + kSessionMarkRetentionMs);
  ASSERT_TRUE(p.SweepSessionMarks().ok());
  EXPECT_EQ(count(), 0);
  EXPECT_TRUE(store->Get({FeatureKind::kProfile, "p0"})->has_value());  // features stay
}

TEST_F(FeatureProcessorTest, MissingCatalogAndBadRecordsNeverStopTheUpdater) {
  auto store = Open("c");
  const std::string later = dir_.path() + "/later.csv";
  FeatureProcessor p(store.get(), later, &clock_, &metrics_);
  ASSERT_TRUE(p.Restore().ok());
  std::vector<ConsumedRecord> recs = Records(0, 10);
  recs.push_back({0, 5, 0, "", "garbage"});
  ASSERT_TRUE(p.Process(recs).ok());
  EXPECT_NE(metrics_.RenderPrometheus().find("viewpipe_features_bad_records_total 1"),
            std::string::npos);
  EXPECT_NE(metrics_.RenderPrometheus().find("viewpipe_features_catalog_misses_total 10"),
            std::string::npos);
  std::ofstream(later) << "title_id,genre,kind,duration_s\nt1,comedy,film,60\nbroken\n";
  ASSERT_TRUE(p.Restore().ok());  // forces the catalog check
  EXPECT_EQ(p.catalog().GenreOf("t1"), "comedy");
  EXPECT_EQ(p.catalog().bad_rows(), 1);
}

}  // namespace
}  // namespace viewpipe::features
