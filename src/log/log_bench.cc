// log_bench: durable-append throughput of FileLog.
//
//   log_bench [--dir D] [--threads 4] [--seconds 5] [--records 500]
//             [--value 150] [--sync_threads 0] [--segment_mb 128]
//
// Each thread appends batches of `records` records (a 36-byte session-id
// key, a `value`-byte value) to the viewing topic, as the collector does,
// and waits for each to be durable before the next. Prints records/s, MB/s
// of record payload, group commits/s and fdatasyncs/s.

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "common/metrics.h"
#include "log/file_log.h"

namespace {

struct Flags {
  std::string dir = "/tmp/viewpipe-log-bench";
  int threads = 4;
  double seconds = 5;
  int records = 500;
  int value = 150;
  int sync_threads = -1;  // -1: the FileLogOptions default
  int segment_mb = 128;
};

Flags Parse(int argc, char** argv) {
  Flags f;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    const char* v = argv[i + 1];
    if (k == "--dir")
      f.dir = v;
    else if (k == "--threads")
      f.threads = std::atoi(v);
    else if (k == "--seconds")
      f.seconds = std::atof(v);
    else if (k == "--records")
      f.records = std::atoi(v);
    else if (k == "--value")
      f.value = std::atoi(v);
    else if (k == "--sync_threads")
      f.sync_threads = std::atoi(v);
    else if (k == "--segment_mb")
      f.segment_mb = std::atoi(v);
    else {
      std::fprintf(stderr, "unknown flag %s\n", k.c_str());
      std::exit(2);
    }
  }
  return f;
}

void Writer(viewpipe::FileLog* log, const Flags& f, int id, std::atomic<bool>* stop,
            std::atomic<uint64_t>* records, std::atomic<uint64_t>* bytes) {
  std::mt19937_64 rng(id);
  std::vector<std::string> keys(1000), values(64);
  for (auto& k : keys) {
    char buf[40];
    std::snprintf(buf, sizeof(buf), "%016llx-%019llu", static_cast<unsigned long long>(rng()),
                  static_cast<unsigned long long>(rng() % 10000000000000000000ull));
    k = buf;
  }
  for (auto& v : values) {
    v.resize(f.value);
    for (char& c : v) c = static_cast<char>('a' + rng() % 26);
  }
  std::vector<viewpipe::ProduceRecord> batch(f.records);
  uint64_t n = 0;
  while (!stop->load(std::memory_order_relaxed)) {
    uint64_t b = 0;
    for (auto& r : batch) {
      r.topic = viewpipe::kTopicViewing;
      r.key = keys[rng() % keys.size()];
      r.value = values[n++ % values.size()];
      r.timestamp_ms = 1700000000000 + static_cast<int64_t>(n);
      b += r.key.size() + r.value.size();
    }
    viewpipe::Status st = log->Append(batch);
    if (!st.ok()) {
      std::fprintf(stderr, "append: %s\n", st.ToString().c_str());
      std::exit(1);
    }
    records->fetch_add(batch.size());
    bytes->fetch_add(b);
  }
}

}  // namespace

int main(int argc, char** argv) {
  Flags f = Parse(argc, argv);
  std::filesystem::remove_all(f.dir);
  viewpipe::MetricsRegistry metrics;
  viewpipe::FileLogOptions opts;
  opts.dir = f.dir;
  opts.metrics = &metrics;
  if (f.sync_threads >= 0) opts.sync_threads = f.sync_threads;
  opts.segment_bytes = static_cast<uint64_t>(f.segment_mb) << 20;
  auto log = viewpipe::FileLog::Open(opts);
  if (!log.ok()) {
    std::fprintf(stderr, "open: %s\n", log.status().ToString().c_str());
    return 1;
  }
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> records{0}, bytes{0};
  std::vector<std::thread> threads;
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < f.threads; ++i) {
    threads.emplace_back(Writer, log->get(), std::cref(f), i, &stop, &records, &bytes);
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(f.seconds));
  stop = true;
  for (auto& t : threads) t.join();
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  auto* fsync = metrics.GetHistogram("viewpipe_log_fsync_seconds", "", {});
  auto* groups = metrics.GetCounter("viewpipe_log_group_commits_total", "");
  auto* disk = metrics.GetCounter("viewpipe_log_append_bytes_total", "");
  std::printf(
      "threads=%d records/append=%d value=%dB sync_threads=%d: %.0f records/s, %.1f MB/s "
      "payload, %.1f MB/s to disk, %.0f group commits/s, %.0f fdatasyncs/s, fsync p50 %.4fs "
      "p99 %.4fs, %.0f records/group\n",
      f.threads, f.records, f.value, f.sync_threads, records / secs, bytes / secs / 1e6,
      disk->Value() / secs / 1e6, groups->Value() / secs, fsync->Count() / secs,
      fsync->Quantile(0.5), fsync->Quantile(0.99),
      static_cast<double>(records) / std::max<uint64_t>(1, groups->Value()));
  log->reset();
  std::filesystem::remove_all(f.dir);
  return 0;
}
