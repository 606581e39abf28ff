#pragma once
// The fixture of the batch tests: a real lake (LakeWriter +
// LocalObjectStore in a temp dir), a catalog, sessions of hand-built
// events, and helpers to read outputs with DuckDB.

#include <gtest/gtest.h>

#include <climits>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "batch/batch_runner.h"
#include "common/clock.h"
#include "common/scoped_temp_dir.h"
#include "lake/duck.h"
#include "lake/lake_test_util.h"
#include "lake/lake_writer.h"
#include "lake/local_object_store.h"

namespace viewpipe::batch {

// 2025-01-06 is a Monday (ISO 2025-W02).
inline const EventDate kMonday = *EventDate::Parse("2025-01-06");

class BatchFixture : public ::testing::Test {
 protected:
  BatchFixture() : clock_(kMonday.StartMs()) {
    std::filesystem::create_directories(tmp_.path() + "/lake");
    store_ = std::make_unique<LocalObjectStore>(Env::Default(), tmp_.path() + "/lake");
    std::string csv = "title_id,genre,kind,duration_s\nt-0,drama,film,100\nt-1,comedy,series,60\n";
    EXPECT_TRUE(Env::Default()->WriteFileAtomic(tmp_.path() + "/catalog.csv", csv).ok());
    OpenWriter();
  }

  void OpenWriter() {
    LakeWriterOptions o;
    o.store = store_.get();
    o.clock = &clock_;
    o.parquet.scratch_dir = tmp_.path() + "/lake-scratch";
    o.parquet.zstd_level = 1;
    auto w = LakeWriter::Open(o);
    ASSERT_TRUE(w.ok()) << w.status().ToString();
    writer_ = std::move(w).value();
  }

  RunnerOptions Runner(ObjectStore* store, Env* env = Env::Default()) {
    return RunnerOptions{store, env, &clock_, tmp_.path() + "/batch", tmp_.path() + "/catalog.csv",
                         "256MB"};
  }

  // A session of `title` by `profile` starting at t0 (ms): attempt,
  // play_start (startup 800 ms) at +1 s, heartbeats every 10 s while
  // playing `play_s` seconds, then stop. Only its events in [from_ms,
  // to_ms) are written (a session crossing midnight is written day by day).
  void AddSession(const std::string& id, const std::string& profile, const std::string& title,
                  int64_t t0, int play_s, const std::string& live = "",
                  int64_t from_ms = INT64_MIN, int64_t to_ms = INT64_MAX) {
    std::vector<std::pair<EventType, int64_t>> evs = {{EventType::kAttempt, t0},
                                                     {EventType::kPlayStart, t0 + 1000}};
    for (int s = 10; s < play_s; s += 10) evs.push_back({EventType::kHeartbeat, t0 + 1000 + s * 1000});
    evs.push_back({EventType::kStop, t0 + 1000 + play_s * 1000LL});
    for (size_t i = 0; i < evs.size(); ++i) {
      if (evs[i].second < from_ms || evs[i].second >= to_ms) continue;
      OwnedEvent e;
      e.event_id = id + "-" + std::to_string(i);
      e.session_id = id;
      e.profile_id = profile;
      e.title_id = title;
      e.type = evs[i].first;
      e.ts_ms = evs[i].second;
      e.received_at_ms = e.ts_ms + 500;
      e.position_ms = std::max<int64_t>(0, evs[i].second - t0 - 1000);
      EventView v = e.view();
      if (e.type == EventType::kPlayStart) v.startup_ms = 800;
      if (!live.empty()) v.live_event_id = live;
      auto r = writer_->Add(v);
      ASSERT_TRUE(r.ok()) << r.status().ToString();
    }
  }

  // Three sessions per day; seals the day.
  void WriteDay(EventDate d, int extra_s = 0) {
    int64_t t = d.StartMs() + 3600 * 1000;
    AddSession("s-a-" + d.ToString(), "p-1", "t-0", t, 95 + extra_s);
    AddSession("s-b-" + d.ToString(), "p-1", "t-1", t + 200000, 30);
    AddSession("s-c-" + d.ToString(), "p-2", "t-9", t + 5000, 40, "live-1");
    ASSERT_TRUE(writer_->FlushAndSeal(d, 0).ok());
  }

  std::string Read(const std::string& key) {
    auto s = store_->Get(key);
    EXPECT_TRUE(s.ok()) << key << ": " << s.status().ToString();
    return s.ok() ? *s : "";
  }

  // Every object under prefix with its bytes.
  std::map<std::string, std::string> Snapshot(const std::string& prefix) {
    std::map<std::string, std::string> out;
    auto listed = store_->List(prefix);
    EXPECT_TRUE(listed.ok());
    for (const ObjectInfo& o : *listed) out[o.key] = Read(o.key);
    return out;
  }

  // Rows of a query over one Parquet output file.
  std::vector<std::vector<std::string>> Query(const std::string& key, const std::string& sql) {
    auto db = DuckDatabase::Open("", {});
    auto conn = (*db)->Connect();
    std::string q = sql;
    q.replace(q.find("$F"), 2, "read_parquet(" + SqlQuote(store_->ReadUri(key)) + ")");
    auto res = (*conn)->Query(q);
    EXPECT_TRUE(res.ok()) << res.status().ToString();
    std::vector<std::vector<std::string>> rows;
    if (!res.ok()) return rows;
    size_t cols = res->columns();
    Status st = res->ForEachChunk([&](const DuckChunk& c) {
      for (size_t r = 0; r < c.rows(); ++r) {
        rows.emplace_back();
        for (size_t k = 0; k < cols; ++k) {
          rows.back().push_back(c.IsNull(k, r) ? "NULL" : std::string(c.String(k, r)));
        }
      }
      return Status::OK();
    });
    EXPECT_TRUE(st.ok());
    return rows;
  }

  ScopedTempDir tmp_;
  ManualClock clock_;
  std::unique_ptr<LocalObjectStore> store_;
  std::unique_ptr<LakeWriter> writer_;
};

}  // namespace viewpipe::batch
