// ingest_stages: CPU per event of each stage of the collector's write path,
// in one process, without HTTP. Where ingest_load measures the server from
// outside, this says where its CPU goes (bench/README.md, ingest section).
//
//   ingest_stages --events-file F [--events N] [--batch 500] [--dir D] [--threads T]
//
// F holds one event's JSON per line (`ingest_load --dump-events F`). Bodies
// of `batch` events ({"events":[...]}) are built from it, cycling through
// its lines and giving every event a fresh event_id (as ingest_load does), so
// the dedup index sees N distinct ids. Then, one stage at a time over all
// bodies, it measures the process's CPU time (user + system, every thread:
// the log's fsync workers and the kernel's work for write/fsync included):
//
//   parse    ParseBatch: simdjson, validation, binary encoding
//   dedup    DedupIndex::KeyOf + ClaimAll + Commit of every accepted id
//   append   FileLog::Append of the encoded records (viewing + qoe copies),
//            fsync'd, `threads` appenders sharing group commits
//   ingest   Collector::Ingest (all of the above, plus counting and the
//            response), `threads` threads, into a fresh log
//
// Prints one JSON line: CPU-us per event of each stage, and events/s of the
// ingest stage. The HTTP server's share is the server's CPU per event under
// ingest_load minus `ingest` here.

#include <sys/resource.h>

#include <atomic>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/metrics.h"
#include "event/parser.h"
#include "ingest/collector.h"
#include "ingest/dedup_index.h"
#include "log/file_log.h"

namespace viewpipe {
namespace {

struct Args {
  std::string events_file, dir = "ingest-stages.tmp";
  size_t events = 1'000'000;
  size_t batch = 500;
  int threads = 4;
};

double CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  auto sec = [](const timeval& t) { return t.tv_sec + t.tv_usec / 1e6; };
  return sec(u.ru_utime) + sec(u.ru_stime);
}

double WallSeconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Writes a UUID-shaped id for n into out[0, 36): distinct n, distinct ids.
void StampId(char* out, uint64_t n) {
  static const char* hex = "0123456789abcdef";
  const uint64_t hi = n * 0x9e3779b97f4a7c15ULL;
  char digits[32];
  for (int i = 0; i < 16; ++i) digits[i] = hex[(hi >> (60 - 4 * i)) & 0xf];
  for (int i = 0; i < 16; ++i) digits[16 + i] = hex[(n >> (60 - 4 * i)) & 0xf];
  for (int i = 0, d = 0; i < 36; ++i) {
    out[i] = (i == 8 || i == 13 || i == 18 || i == 23) ? '-' : digits[d++];
  }
}

std::vector<std::string> MakeBodies(const Args& a) {
  std::ifstream in(a.events_file);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("{\"event_id\":\"", 0) == 0 && line.size() > 50) lines.push_back(line);
  }
  if (lines.empty()) {
    std::fprintf(stderr, "no events in %s\n", a.events_file.c_str());
    std::exit(2);
  }
  std::vector<std::string> bodies;
  uint64_t n = 0;
  while (n < a.events) {
    std::string b = "{\"events\":[";
    for (size_t i = 0; i < a.batch && n < a.events; ++i, ++n) {
      if (i > 0) b += ',';
      const size_t at = b.size() + 13;
      b += lines[n % lines.size()];
      StampId(b.data() + at, n + 1);
    }
    b += "]}";
    bodies.push_back(std::move(b));
  }
  return bodies;
}

std::unique_ptr<FileLog> OpenLog(const std::string& dir, MetricsRegistry* metrics) {
  std::filesystem::remove_all(dir);
  FileLogOptions o;
  o.dir = dir;
  o.metrics = metrics;
  auto log = FileLog::Open(o);
  if (!log.ok()) {
    std::fprintf(stderr, "open log: %s\n", log.status().ToString().c_str());
    std::exit(2);
  }
  return std::move(log).value();
}

// Runs fn(i) for every body index on `threads` threads.
template <typename Fn>
void RunParallel(size_t count, int threads, Fn fn) {
  std::atomic<size_t> next{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      for (size_t i; (i = next.fetch_add(1)) < count;) fn(i);
    });
  }
  for (auto& t : pool) t.join();
}

int Main(const Args& a) {
  const std::vector<std::string> bodies = MakeBodies(a);
  const int64_t now = Clock::System()->NowMs();
  const ParseLimits limits;
  std::vector<ParsedBatch> parsed;
  parsed.reserve(bodies.size());
  double t0 = CpuSeconds();
  for (const std::string& b : bodies) {
    auto r = ParseBatch(b, BodyFormat::kJson, now, limits);
    if (!r.ok() || !r->rejected.empty()) {
      std::fprintf(stderr, "parse: %s\n",
                   r.ok() ? r->rejected[0].error.c_str() : r.status().ToString().c_str());
      return 2;
    }
    parsed.push_back(std::move(r).value());
  }
  const double parse_s = CpuSeconds() - t0;

  DedupIndex dedup(3600 * 1000);
  std::vector<DedupIndex::Key> keys;
  std::vector<DedupIndex::Claim> claims;
  t0 = CpuSeconds();
  for (const ParsedBatch& p : parsed) {
    keys.clear();
    for (const AcceptedEvent& e : p.accepted) keys.push_back(DedupIndex::KeyOf(e.event_id));
    dedup.Commit(dedup.ClaimAll(keys, now, &claims));
  }
  const double dedup_s = CpuSeconds() - t0;

  MetricsRegistry metrics;
  double append_s = 0;
  {
    auto log = OpenLog(a.dir, &metrics);
    t0 = CpuSeconds();
    RunParallel(parsed.size(), a.threads, [&](size_t i) {
      thread_local std::vector<ProduceRecord> records;
      records.clear();
      for (const AcceptedEvent& e : parsed[i].accepted) {
        records.push_back({kTopicViewing, e.key, e.encoded, now});
        if (IsQoe(e.type)) records.push_back({kTopicQoe, e.key, e.encoded, now});
      }
      if (Status st = log->Append(records); !st.ok()) std::abort();
    });
    append_s = CpuSeconds() - t0;
  }
  parsed.clear();

  MetricsRegistry metrics2;
  auto log = OpenLog(a.dir, &metrics2);
  CollectorOptions co;
  Collector collector(log.get(), Clock::System(), &metrics2, co);
  collector.SetReady(true);
  std::atomic<size_t> accepted{0};
  t0 = CpuSeconds();
  const double w0 = WallSeconds();
  RunParallel(bodies.size(), a.threads, [&](size_t i) {
    IngestResponse r = collector.Ingest(bodies[i], BodyFormat::kJson);
    if (r.status != 200) std::abort();
    accepted += a.batch;
  });
  const double ingest_s = CpuSeconds() - t0;
  const double wall_s = WallSeconds() - w0;
  log.reset();
  std::filesystem::remove_all(a.dir);

  const double n = static_cast<double>(a.events);
  std::printf(
      "{\"events\":%zu,\"batch\":%zu,\"threads\":%d,\"body_bytes_per_event\":%.1f,"
      "\"cpu_us_per_event\":{\"parse\":%.3f,\"dedup\":%.3f,\"append\":%.3f,\"ingest\":%.3f},"
      "\"ingest_events_per_s\":%.0f}\n",
      a.events, a.batch, a.threads, [&] {
        size_t s = 0;
        for (const auto& b : bodies) s += b.size();
        return s / n;
      }(),
      parse_s / n * 1e6, dedup_s / n * 1e6, append_s / n * 1e6, ingest_s / n * 1e6,
      static_cast<double>(accepted.load()) / wall_s);
  return 0;
}

}  // namespace
}  // namespace viewpipe

int main(int argc, char** argv) {
  viewpipe::Args a;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--events-file") a.events_file = v;
    else if (k == "--events") a.events = std::stoull(v);
    else if (k == "--batch") a.batch = std::stoull(v);
    else if (k == "--dir") a.dir = v;
    else if (k == "--threads") a.threads = std::stoi(v);
    else {
      std::fprintf(stderr, "unknown option %s\n", k.c_str());
      return 2;
    }
  }
  if (a.events_file.empty() || a.batch == 0) {
    std::fprintf(stderr,
                 "usage: ingest_stages --events-file F [--events N] [--batch 500] [--dir D] "
                 "[--threads T]\n");
    return 2;
  }
  return viewpipe::Main(a);
}
