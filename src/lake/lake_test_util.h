#pragma once
// Test-only helpers for lake and warehouse tests: events that own their
// strings, and reading a lake back through DuckDB.

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "event/event.h"
#include "lake/duck.h"
#include "lake/lake_reader.h"
#include "lake/parquet_writer.h"

namespace viewpipe {

inline constexpr int64_t kDay0 = 1735689600000;  // 2025-01-01T00:00:00Z

// Temp dirs on tmpfs when there is one: these tests fsync a lot, and crash
// behaviour is modelled by FaultInjectionEnv, not by the disk.
inline const bool kTestTmpOnTmpfs = [] {
  if (std::getenv("TEST_TMPDIR") == nullptr && ::access("/dev/shm", W_OK) == 0) {
    ::setenv("TEST_TMPDIR", "/dev/shm", 0);
  }
  return true;
}();

// An event owning its strings; view() points into it.
struct OwnedEvent {
  std::string event_id, session_id, profile_id, title_id, country = "US", cdn = "cdn-a";
  std::string os = "tizen", isp;
  EventType type = EventType::kHeartbeat;
  DeviceType device = DeviceType::kTv;
  int64_t ts_ms = 0, received_at_ms = 0;
  std::optional<int32_t> bitrate_kbps = 3000;
  std::optional<int64_t> position_ms;
  std::vector<std::pair<std::string, std::string>> experiments;

  EventView view() const {
    EventView e;
    e.event_id = event_id;
    e.type = type;
    e.ts_ms = ts_ms;
    e.received_at_ms = received_at_ms;
    e.session_id = session_id;
    e.profile_id = profile_id;
    e.title_id = title_id;
    e.device_type = device;
    e.country = country;
    e.cdn = cdn;
    e.os = os;
    e.isp = isp;
    e.bitrate_kbps = bitrate_kbps;
    e.position_ms = position_ms;
    for (const auto& [k, v] : experiments) e.experiments.emplace_back(k, v);
    return e;
  }
};

// Event number i at ts, received `delay_ms` later.
inline OwnedEvent MakeEvent(int i, int64_t ts, int64_t delay_ms = 1000) {
  OwnedEvent e;
  e.event_id = "ev-" + std::to_string(i);
  e.session_id = "s-" + std::to_string(i / 10);
  e.profile_id = "p-" + std::to_string(i / 30);
  e.title_id = "t-" + std::to_string(i % 7);
  e.country = (i % 3 == 0) ? "US" : (i % 3 == 1 ? "DE" : "BR");
  e.ts_ms = ts;
  e.received_at_ms = ts + delay_ms;
  e.bitrate_kbps = 1000 + (i % 5) * 500;
  e.position_ms = i * 10000LL;
  if (i % 2 == 0) e.experiments = {{"exp-row", i % 4 == 0 ? "control" : "treatment"}};
  return e;
}

// (event_id, event_date) of every row the committed lake holds.
inline std::vector<std::pair<std::string, std::string>> ReadLakeRows(LakeReader* reader) {
  std::vector<std::pair<std::string, std::string>> rows;
  auto files = reader->Files(LakeRange{});
  EXPECT_TRUE(files.ok()) << files.status().ToString();
  if (!files.ok() || files->empty()) return rows;
  std::vector<std::string> uris;
  for (const LakeFileRef& f : *files) uris.push_back(f.uri);
  auto db = DuckDatabase::Open("", {});
  auto conn = (*db)->Connect();
  auto res = (*conn)->Query("SELECT event_id, CAST(event_date AS VARCHAR) FROM read_parquet(" +
                            SqlStringList(uris) + ", hive_partitioning = true) ORDER BY 1");
  EXPECT_TRUE(res.ok()) << res.status().ToString();
  if (!res.ok()) return rows;
  Status st = res->ForEachChunk([&](const DuckChunk& c) {
    for (size_t r = 0; r < c.rows(); ++r) {
      rows.emplace_back(std::string(c.String(0, r)), std::string(c.String(1, r)));
    }
    return Status::OK();
  });
  EXPECT_TRUE(st.ok()) << st.ToString();
  return rows;
}

}  // namespace viewpipe
