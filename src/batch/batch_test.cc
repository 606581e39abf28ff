// Tests of the batch consumers on a real lake (LakeWriter + LocalObjectStore
// in a temp dir) and DuckDB: session metrics, byte-identical re-runs,
// refusing unsealed days, crashes and a full disk mid-commit, and the
// scheduler driven by a ManualClock.

#include <gtest/gtest.h>

#include <filesystem>

#include "batch/batch_runner.h"
#include "batch/batch_scheduler.h"
#include "batch/batch_test_fixture.h"
#include "common/crc32c.h"
#include "common/fault_injection_env.h"
#include "common/scoped_temp_dir.h"
#include "lake/lake_test_util.h"
#include "lake/lake_writer.h"
#include "lake/local_object_store.h"

namespace viewpipe::batch {
namespace {

TEST(IsoWeekTest, KnownWeeks) {
  EXPECT_EQ(IsoWeek::Of(*EventDate::Parse("2025-01-06")).ToString(), "2025-W02");
  EXPECT_EQ(IsoWeek::Of(*EventDate::Parse("2025-01-05")).ToString(), "2025-W01");
  EXPECT_EQ(IsoWeek::Of(*EventDate::Parse("2024-12-30")).ToString(), "2025-W01");
  EXPECT_EQ(IsoWeek::Of(*EventDate::Parse("2021-01-03")).ToString(), "2020-W53");
  EXPECT_EQ(IsoWeek::Parse("2026-W53")->Monday().ToString(), "2026-12-28");
  EXPECT_FALSE(IsoWeek::Parse("2025-W53"));  // 2025 has 52 ISO weeks
  EXPECT_FALSE(IsoWeek::Parse("2025-48"));
  EXPECT_EQ(IsoWeek::Parse("2025-W02")->Prev().ToString(), "2025-W01");
  EXPECT_EQ(IsoWeek::Parse("2025-W02")->Sunday().ToString(), "2025-01-12");
}

class BatchTest : public BatchFixture {};

TEST_F(BatchTest, DailySessionsFollowTheEventDefinitions) {
  WriteDay(kMonday);
  BatchRunner runner(Runner(store_.get()));
  auto r = runner.RunDaily(kMonday, false, "manual");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(r->provisional);
  std::string key = DailyPrefix("sessions", kMonday) + "part-00000.parquet";
  auto rows = Query(key,
      "SELECT session_id, profile_id, title_id, started::VARCHAR, startup_ms::VARCHAR, "
      "watch_time_ms::VARCHAR, completion::VARCHAR, completed::VARCHAR, end_reason, "
      "coalesce(failure, '-'), coalesce(live_event_id, '-') FROM $F ORDER BY session_id");
  ASSERT_EQ(rows.size(), 3u);
  // 95 s played, t-0 lasts 100 s: position 95 s = 95 %.
  EXPECT_EQ(rows[0], (std::vector<std::string>{"s-a-2025-01-06", "p-1", "t-0", "true", "800",
                                               "95000", "0.95", "true", "stop", "-", "-"}));
  // t-1 lasts 60 s: 30 s is half, not completed.
  EXPECT_EQ(rows[1][5], "30000");
  EXPECT_EQ(rows[1][6], "0.5");
  EXPECT_EQ(rows[1][7], "false");
  // t-9 is not in the catalog: completion unknown.
  EXPECT_EQ(rows[2][6], "NULL");
  EXPECT_EQ(rows[2][10], "live-1");
  std::string ikey = DailyPrefix("interactions", kMonday) + "part-00000.parquet";
  auto inter = Query(ikey, "SELECT profile_id, title_id, sessions::VARCHAR, "
                           "watch_time_ms::VARCHAR FROM $F ORDER BY 1, 2");
  ASSERT_EQ(inter.size(), 3u);
  EXPECT_EQ(inter[0], (std::vector<std::string>{"p-1", "t-0", "1", "95000"}));
  auto m = ReadOutputManifest(store_.get(), DailyPrefix("sessions", kMonday));
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->rows, 3);
  EXPECT_EQ(m->inputs.at("2025-01-06"), 1);
  EXPECT_EQ(m->files.at(0).crc32c, crc32c::Value(Read(key)));
}

TEST_F(BatchTest, RerunIsByteIdentical) {
  for (int i = 0; i < 7; ++i) WriteDay(EventDate{kMonday.days + i}, i);
  BatchRunner runner(Runner(store_.get()));
  ASSERT_TRUE(runner.RunDaily(kMonday, false, "manual").ok());
  ASSERT_TRUE(runner.RunWeekly(IsoWeek::Of(kMonday), false, "manual").ok());
  auto first = Snapshot("datasets/");
  auto first_weekly = Snapshot("aggregates/");
  // 2 datasets x (part, _manifest.json, _SUCCESS) x 7 days: the weekly
  // job ran the dailies of the week it reads.
  ASSERT_EQ(first.size(), 42u);
  ASSERT_EQ(first_weekly.size(), 3u);
  ASSERT_TRUE(runner.RunDaily(kMonday, false, "manual").ok());
  ASSERT_TRUE(runner.RunWeekly(IsoWeek::Of(kMonday), false, "manual").ok());
  EXPECT_EQ(Snapshot("datasets/"), first);
  EXPECT_EQ(Snapshot("aggregates/"), first_weekly);
  // The weekly title row of t-0: 7 sessions, hours from the seven days.
  std::string wkey = WeeklyPrefix(IsoWeek::Of(kMonday)) + "part-00000.parquet";
  auto rows = Query(wkey, "SELECT dimension, \"key\", unique_viewers::VARCHAR, "
                          "sessions::VARCHAR, watch_time_ms::VARCHAR, "
                          "second_start_share::VARCHAR, live_peak_concurrency::VARCHAR "
                          "FROM $F WHERE \"key\" IN ('t-0', 't-9', 'unknown') ORDER BY 1, 2");
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0], (std::vector<std::string>{"genre", "unknown", "1", "7", "280000", "0.0", "1"}));
  // 95+96+...+101 s of t-0; p-1 watched t-1 after t-0 each day.
  EXPECT_EQ(rows[1], (std::vector<std::string>{"title", "t-0", "1", "7", "686000", "1.0", "0"}));
  EXPECT_EQ(rows[2][6], "1");
}

// Sessions built in many small hash buckets (what bounds a large day's
// memory) give the same bytes as one pass.
TEST_F(BatchTest, BucketedSessionsGiveTheSameOutput) {
  for (int i = 0; i < 7; ++i) WriteDay(EventDate{kMonday.days + i}, i);
  BatchRunner one(Runner(store_.get()));
  ASSERT_TRUE(one.RunDaily(kMonday, false, "manual").ok());
  ASSERT_TRUE(one.RunWeekly(IsoWeek::Of(kMonday), false, "manual").ok());
  auto daily = Snapshot("datasets/");
  auto weekly = Snapshot("aggregates/");
  RunnerOptions o = Runner(store_.get());
  o.rows_per_bucket = 4;
  BatchRunner bucketed(o);
  ASSERT_TRUE(bucketed.RunDaily(kMonday, false, "manual").ok());
  ASSERT_TRUE(bucketed.RunWeekly(IsoWeek::Of(kMonday), false, "manual").ok());
  EXPECT_EQ(Snapshot("datasets/"), daily);
  EXPECT_EQ(Snapshot("aggregates/"), weekly);
  auto rows = Query(DailyPrefix("sessions", kMonday) + "part-00000.parquet",
                    "SELECT count(*)::VARCHAR FROM $F");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_GT(std::stoi(rows[0][0]), 2);  // several sessions: several buckets had work
}

TEST_F(BatchTest, UnsealedDayIsRefusedUnlessForced) {
  AddSession("s-x", "p-1", "t-0", kMonday.StartMs() + 1000, 20);
  ASSERT_TRUE(writer_->Flush(nullptr).ok());  // committed, not sealed
  BatchRunner runner(Runner(store_.get()));
  auto r = runner.RunDaily(kMonday, false, "manual");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("not sealed"), std::string::npos) << r.status().ToString();
  EXPECT_FALSE(store_->Exists(DailyPrefix("sessions", kMonday) + "_SUCCESS"));
  auto forced = runner.RunDaily(kMonday, true, "manual");
  ASSERT_TRUE(forced.ok()) << forced.status().ToString();
  EXPECT_TRUE(forced->provisional);
  auto m = ReadOutputManifest(store_.get(), DailyPrefix("sessions", kMonday));
  ASSERT_TRUE(m.ok());
  EXPECT_TRUE(m->provisional);
  auto runs = runner.ledger()->Read(10);
  ASSERT_TRUE(runs.ok());
  ASSERT_EQ(runs->size(), 2u);
  EXPECT_EQ((*runs)[0].status, "ok");
  EXPECT_EQ((*runs)[1].status, "refused");
}

// A crash at every step of the commit leaves the old output or the whole
// new one (after recovery), never a mix or a partial directory.
TEST_F(BatchTest, CrashAtEveryCommitStepLeavesOldOrNewOutput) {
  WriteDay(kMonday);
  BatchRunner runner(Runner(store_.get()));
  ASSERT_TRUE(runner.RunDaily(kMonday, false, "manual").ok());
  auto old_out = Snapshot("datasets/");
  AddSession("s-late", "p-3", "t-1", kMonday.StartMs() + 7200 * 1000, 20);  // late: new version
  ASSERT_TRUE(writer_->Flush(nullptr).ok());
  ASSERT_TRUE(runner.RunDaily(kMonday, false, "manual").ok());
  auto new_out = Snapshot("datasets/");
  ASSERT_NE(old_out, new_out);
  int crashes = 0;
  for (int k = 0;; ++k) {
    // Put the old output back (same names, old bytes), then crash at step k.
    for (const auto& [key, bytes] : new_out) ASSERT_TRUE(store_->Delete(key).ok());
    for (const auto& [key, bytes] : old_out) ASSERT_TRUE(store_->Put(key, bytes).ok());
    int step = 0;
    runner.jobs()->SetCommitProbe([&](std::string_view) {
      return step++ == k ? Status::IOError("crash") : Status::OK();
    });
    auto r = runner.RunDaily(kMonday, false, "manual");
    runner.jobs()->SetCommitProbe(nullptr);
    if (r.ok()) break;  // k is past the last step
    ++crashes;
    OutputCommitter recover(store_.get(), DailyRunKey(kMonday));
    ASSERT_TRUE(recover.Recover().ok());
    auto now = Snapshot("datasets/");
    EXPECT_TRUE(now == old_out || now == new_out) << "crash at step " << k;
    EXPECT_TRUE(Snapshot("_batch/").empty()) << "crash at step " << k;
  }
  EXPECT_GE(crashes, 8);
}

TEST_F(BatchTest, FullDiskMidRunKeepsThePreviousOutput) {
  WriteDay(kMonday);
  FaultInjectionEnv fenv(Env::Default());
  LocalObjectStore store(&fenv, tmp_.path() + "/lake");
  BatchRunner runner(Runner(&store));
  ASSERT_TRUE(runner.RunDaily(kMonday, false, "manual").ok());
  auto before = Snapshot("datasets/");
  AddSession("s-late", "p-3", "t-1", kMonday.StartMs() + 7200 * 1000, 20);
  ASSERT_TRUE(writer_->Flush(nullptr).ok());
  fenv.SetSpaceLimit(fenv.UsedBytes() + 3000);  // the ledger fits, the Parquet files do not
  auto r = runner.RunDaily(kMonday, false, "manual");
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsNoSpace()) << r.status().ToString();
  fenv.SetSpaceLimit(FaultInjectionEnv::kNoLimit);
  ASSERT_TRUE(OutputCommitter(&store, DailyRunKey(kMonday)).Recover().ok());
  EXPECT_EQ(Snapshot("datasets/"), before);
  auto runs = runner.ledger()->Read(1);
  ASSERT_TRUE(runs.ok());
  EXPECT_EQ(runs->at(0).status, "failed");
  ASSERT_TRUE(runner.RunDaily(kMonday, false, "manual").ok());
  EXPECT_NE(Snapshot("datasets/"), before);
}

TEST_F(BatchTest, SecondRunOfTheSameJobIsRefusedByTheLock) {
  WriteDay(kMonday);
  BatchRunner runner(Runner(store_.get()));
  ASSERT_TRUE(Env::Default()->CreateDirs(tmp_.path() + "/batch/locks").ok());
  auto held = Env::Default()->LockFile(tmp_.path() + "/batch/locks/daily-2025-01-06.lock");
  ASSERT_TRUE(held.ok());
  auto r = runner.RunDaily(kMonday, false, "manual");
  EXPECT_EQ(r.status().code(), Status::Code::kAborted) << r.status().ToString();
  held->reset();
  EXPECT_TRUE(runner.RunDaily(kMonday, false, "manual").ok());
}

TEST_F(BatchTest, SchedulerCatchesUpInOrderAndRerunsOnLateData) {
  BatchRunner runner(Runner(store_.get()));
  BatchScheduler scheduler(&runner, store_.get(), &clock_, SchedulerOptions{35, 1000, 0});
  // Downtime: nine days sealed while the scheduler did not run.
  for (int i = 0; i < 9; ++i) WriteDay(EventDate{kMonday.days + i});
  clock_.Set(EventDate{kMonday.days + 10}.StartMs());
  auto ran = scheduler.RunOnce();
  ASSERT_TRUE(ran.ok()) << ran.status().ToString();
  std::vector<std::string> want;
  for (int i = 0; i < 9; ++i) want.push_back(DailyRunKey(EventDate{kMonday.days + i}));
  want.push_back("weekly-2025-W02");  // the week of the 13th is not complete
  EXPECT_EQ(*ran, want);
  ran = scheduler.RunOnce();
  ASSERT_TRUE(ran.ok());
  EXPECT_TRUE(ran->empty());  // nothing due: never run twice
  // A late event re-sealed into Wednesday re-runs its day and its week.
  AddSession("s-late", "p-7", "t-1", kMonday.StartMs() + 2 * kMsPerDay + 9000000, 20);
  ASSERT_TRUE(writer_->Flush(nullptr).ok());
  ran = scheduler.RunOnce();
  ASSERT_TRUE(ran.ok());
  EXPECT_EQ(*ran, (std::vector<std::string>{"daily-2025-01-08", "weekly-2025-W02"}));
  auto m = ReadOutputManifest(store_.get(), DailyPrefix("sessions", EventDate{kMonday.days + 2}));
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->rows, 4);
  // Days before the lookback are not run.
  BatchScheduler short_sight(&runner, store_.get(), &clock_, SchedulerOptions{1, 1000, 0});
  for (const auto& key : Snapshot("datasets/")) ASSERT_TRUE(store_->Delete(key.first).ok());
  ran = short_sight.RunOnce();
  ASSERT_TRUE(ran.ok());
  EXPECT_TRUE(ran->empty());
  auto runs = runner.ledger()->Read(100);
  ASSERT_TRUE(runs.ok());
  EXPECT_EQ(runs->size(), 12u);
  for (const RunRecord& r : *runs) EXPECT_EQ(r.status, "ok") << r.id << " " << r.error;
}

TEST_F(BatchTest, SchedulerBacksOffAFailingRun) {
  WriteDay(kMonday);
  BatchRunner runner(Runner(store_.get()));
  BatchScheduler scheduler(&runner, store_.get(), &clock_, SchedulerOptions{35, 1000, 0, 60000});
  runner.jobs()->SetCommitProbe([](std::string_view) { return Status::NoSpace("disk full"); });
  const std::vector<std::string> day = {"daily-2025-01-06"};
  EXPECT_EQ(scheduler.RunOnce().value(), day);  // fails
  EXPECT_TRUE(scheduler.RunOnce().value().empty());  // waits 60 s
  clock_.Advance(60000);
  EXPECT_EQ(scheduler.RunOnce().value(), day);  // fails again: now waits 120 s
  clock_.Advance(60000);
  EXPECT_TRUE(scheduler.RunOnce().value().empty());
  runner.jobs()->SetCommitProbe(nullptr);
  clock_.Advance(60000);
  EXPECT_EQ(scheduler.RunOnce().value(), day);
  EXPECT_TRUE(scheduler.RunOnce().value().empty());  // done: not due any more
  auto runs = runner.ledger()->Read(10);
  ASSERT_TRUE(runs.ok());
  ASSERT_EQ(runs->size(), 3u);
  EXPECT_EQ((*runs)[0].status, "ok");
  EXPECT_EQ((*runs)[1].status, "failed");
  EXPECT_NE((*runs)[1].error.find("disk full"), std::string::npos);
}

}  // namespace
}  // namespace viewpipe::batch
