// lake_bench: throughput of the lake and hot-tier consumer paths, from the
// durable log to committed Parquet / the hot DuckDB (bench/lake.sh).
//
//   lake_bench --dir DIR [--events N] [--per-day M] [--roll-ms R] [--hot 0|1]
//
// 1. Generates N realistic events (the backfill generator, M per day, over
//    the days before today) and appends them to a FileLog in DIR/log
//    (topic viewing, 4 partitions, keyed by session), as the collector does.
// 2. Runs the lake path (consumer group "lake": decode, dedup, Parquet via
//    DuckDB, exactly-once commits every R ms) until it has committed every
//    record; then, with --hot 1, the hot path (group "hot") over the same
//    records (only the last 7 days load; the rest is skipped as outside the
//    window).
// Prints one JSON line: events, seconds and events/s per path, lake bytes
// and bytes per event, files and commits.

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include <spdlog/spdlog.h>

#include "common/clock.h"
#include "event/codec.h"
#include "lake/backfill_generator.h"
#include "lake/lake_processor.h"
#include "lake/local_object_store.h"
#include "log/file_log.h"
#include "warehouse/hot_processor.h"

using namespace viewpipe;

namespace {

struct Args {
  std::string dir;
  int64_t events = 2000000;
  int64_t per_day = 100000;
  int64_t roll_ms = 10000;
  bool hot = true;
};

Args Parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--dir") a.dir = v;
    else if (k == "--events") a.events = std::atoll(v.c_str());
    else if (k == "--per-day") a.per_day = std::atoll(v.c_str());
    else if (k == "--roll-ms") a.roll_ms = std::atoll(v.c_str());
    else if (k == "--hot") a.hot = v != "0";
  }
  if (a.dir.empty()) {
    std::fprintf(stderr, "usage: lake_bench --dir DIR [--events N] [--per-day M] [--roll-ms R] [--hot 0|1]\n");
    std::exit(2);
  }
  return a;
}

void Check(const Status& st, const char* what) {
  if (!st.ok()) {
    std::fprintf(stderr, "%s: %s\n", what, st.ToString().c_str());
    std::exit(1);
  }
}

// Fills the log; returns the number of records.
int64_t FillLog(Log* log, const Args& a) {
  const EventDate today = EventDate::OfMs(Clock::System()->NowMs());
  const int days = static_cast<int>((a.events + a.per_day - 1) / a.per_day);
  BackfillWorld world;
  world.events_per_day = a.per_day;
  world.first_day = EventDate{today.days - days};
  world.end_day = today;
  BackfillGenerator gen(world);
  std::vector<std::string> values;
  std::vector<std::string> keys;
  std::vector<ProduceRecord> records;
  int64_t n = 0;
  auto flush = [&] {
    records.clear();
    for (size_t i = 0; i < values.size(); ++i) {
      ProduceRecord r;
      r.topic = kTopicViewing;
      r.key = keys[i];
      r.value = values[i];
      r.timestamp_ms = Clock::System()->NowMs();
      records.push_back(r);
    }
    Check(log->Append(records), "append");
    values.clear();
    keys.clear();
  };
  for (EventDate d = world.first_day; d < world.end_day && n < a.events; d = d.Next()) {
    gen.GenerateDay(d, [&](const EventView& e) {
      if (n >= a.events) return;
      values.emplace_back();
      EncodeEvent(e, &values.back());
      keys.emplace_back(e.session_id);
      ++n;
      if (values.size() == 5000) flush();
    });
  }
  if (!values.empty()) flush();
  return n;
}

// Runs processor as consumer group `group` until it has processed every record.
double RunPath(Log* log, Processor* processor, const std::string& group, int64_t roll_ms) {
  ConsumerRunnerOptions o;
  o.group = group;
  o.topic = std::string(kTopicViewing);
  o.checkpoint_interval = std::chrono::milliseconds(roll_ms);
  ConsumerRunner runner(log, processor, nullptr, o);
  auto t0 = std::chrono::steady_clock::now();
  Check(runner.Start(), "start");
  int64_t total = 0;
  for (int p = 0; p < log->Partitions(kTopicViewing); ++p) total += log->EndOffset(kTopicViewing, p);
  while (runner.processed() < static_cast<uint64_t>(total)) {
    Check(runner.error(), group.c_str());
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  runner.Stop();  // the final checkpoint: everything committed
  Check(runner.error(), group.c_str());
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  Args a = Parse(argc, argv);
  spdlog::set_level(spdlog::level::warn);  // stdout carries the JSON line
  Check(Env::Default()->CreateDirs(a.dir), "mkdir");
  FileLogOptions lo;
  lo.dir = a.dir + "/log";
  lo.topics = {{std::string(kTopicViewing), 4}};
  lo.retention_ms = -1;
  lo.min_free_bytes = 0;
  auto log = FileLog::Open(lo);
  Check(log.status(), "log");
  auto t0 = std::chrono::steady_clock::now();
  int64_t n = FillLog(log->get(), a);
  double fill_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  LocalObjectStore store(Env::Default(), a.dir + "/lake");
  LakeWriterOptions wo;
  wo.store = &store;
  wo.parquet.scratch_dir = a.dir + "/scratch";
  LakeProcessor lake(log->get(), std::string(kTopicViewing), wo);
  double lake_s = RunPath(log->get(), &lake, "lake", a.roll_ms);
  LakeProcessorStats ls = lake.stats();
  lake.Close();
  uint64_t bytes = 0;
  int64_t files = 0, rows = 0;
  for (const auto& [d, ref] : ls.root.days) {
    bytes += ref.bytes;
    files += ref.files;
    rows += ref.rows;
  }

  double hot_s = 0;
  uint64_t hot_loaded = 0, hot_bytes = 0;
  if (a.hot) {
    HotTierOptions ho;
    ho.db_path = a.dir + "/hot.duckdb";
    ho.lake_root = a.dir + "/lake";
    auto hot = HotTier::Open(ho);
    Check(hot.status(), "hot");
    HotProcessor hp(log->get(), std::string(kTopicViewing), hot->get());
    hot_s = RunPath(log->get(), &hp, "hot", 1000);
    hot_loaded = (*hot)->stats().loaded;
    hot_bytes = (*hot)->SizeBytes();
  }
  std::printf(
      "{\"events\":%lld,\"log_fill_seconds\":%.2f,\"lake_seconds\":%.2f,"
      "\"lake_events_per_second\":%.0f,\"lake_rows\":%lld,\"lake_bytes\":%llu,"
      "\"lake_bytes_per_event\":%.2f,\"lake_files\":%lld,\"lake_commits\":%llu,"
      "\"lake_days\":%zu,\"roll_ms\":%lld,\"hot_seconds\":%.2f,\"hot_records_per_second\":%.0f,"
      "\"hot_loaded\":%llu,\"hot_bytes\":%llu}\n",
      static_cast<long long>(n), fill_s, lake_s, n / lake_s, static_cast<long long>(rows),
      static_cast<unsigned long long>(bytes), rows > 0 ? static_cast<double>(bytes) / rows : 0.0,
      static_cast<long long>(files), static_cast<unsigned long long>(ls.writer.commits),
      ls.root.days.size(), static_cast<long long>(a.roll_ms), hot_s, hot_s > 0 ? n / hot_s : 0.0,
      static_cast<unsigned long long>(hot_loaded), static_cast<unsigned long long>(hot_bytes));
  return 0;
}
