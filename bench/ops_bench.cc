// ops_bench: benchmarks of the ops path (bench/ops.sh runs them all).
//
//   ops_bench memory --sessions N [--seconds S] [--session-minutes M]
//       [--checkpoint-dir DIR]
//       N concurrent sessions (attempt, play_start, a heartbeat every 10 s
//       with +-100 ms jitter, 0.6 other events a minute; 1000 titles, 17
//       countries, 6 devices, 4 CDNs, 5 % on a live event)
//       through a SessionTracker for S simulated seconds (default: lateness
//       + 2 min, the steady state of every session's kept event times);
//       prints bytes per session (the tracker's accounting and the RSS
//       growth) and events/s of SessionTracker::Apply. With M > 0 sessions
//       end (stop) after ~M minutes and are replaced, so ended ones linger
//       until evicted, as in production. With DIR, also times one checkpoint
//       of the final state written there (then deleted).
//   ops_bench replay --events N --dir DIR
//       writes N such events to a FileLog (4 partitions) in DIR, then times
//       the ops consumer (ConsumerRunner + OpsProcessor: read, decode, apply,
//       watermark, eviction, snapshots) replaying them from offset 0; also
//       times decoding alone.
//   ops_bench freshness --url URL --write-key K --seconds S [--rate R]
//       [--phase name:from-to]...
//       R probes a second: each POSTs one attempt (ts = now) of a new
//       session on its own CDN name, then GET /v1/ops/concurrency?by=cdn is
//       polled every 10 ms until that CDN shows; prints per phase the p50/p99
//       of (seen - 200 received) and of the pipeline's own share, (seen -
//       the wall time the probe's second became complete: its end + the
//       200 ms completeness allowance). A second poller reads the same with
//       &live=1 (the running second, provisional) and reports live_p50/p99.
// Every mode prints one JSON object on stdout.

#include <httplib.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/env.h"
#include "event/codec.h"
#include "log/file_log.h"
#include "ops/checkpoint_file.h"
#include "ops/ops_processor.h"
#include "ops/ops_state.h"
#include "stream/consumer_runner.h"

namespace viewpipe::ops {
namespace {

using Steady = std::chrono::steady_clock;

double Seconds(Steady::time_point a, Steady::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

uint64_t Mix(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// CPU seconds of this process (all threads): on a shared machine the wall
// clock says more about the neighbours than about the code.
double CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

size_t RssBytes() {
  long pages = 0, rss = 0;
  FILE* f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr) return 0;
  if (std::fscanf(f, "%ld %ld", &pages, &rss) != 2) rss = 0;
  std::fclose(f);
  return static_cast<size_t>(rss) * static_cast<size_t>(sysconf(_SC_PAGESIZE));
}

const char* kCountries[] = {"US", "BR", "GB", "DE", "FR", "IN", "JP", "MX", "CA",
                            "ES", "IT", "KR", "AU", "NL", "SE", "PL", "AR"};
const char* kCdns[] = {"cdn-a", "cdn-b", "cdn-c", "cdn-d"};
const DeviceType kDevices[] = {DeviceType::kTv,  DeviceType::kMobile,  DeviceType::kWeb,
                               DeviceType::kTablet, DeviceType::kConsole, DeviceType::kOther};

// A population of `sessions` concurrent viewers, each heartbeating every
// 10 s at its own phase. Emits the events of one simulated second at a time.
class Viewers {
 public:
  Viewers(int64_t sessions, int64_t start_ms, int64_t session_minutes)
      : n_(sessions), start_ms_(start_ms), session_minutes_(session_minutes),
        generation_(static_cast<size_t>(sessions), 0), beats_(static_cast<size_t>(sessions), 0) {
    titles_.reserve(1000);
    for (int i = 1; i <= 1000; ++i) {
      char b[16];
      std::snprintf(b, sizeof b, "t%05d", i);
      titles_.emplace_back(b);
    }
  }
  // Calls fn(EventView) for each event of simulated second `sec`.
  template <typename Fn>
  void Second(int64_t sec, Fn&& fn) {
    for (int64_t i = sec % 10; i < n_; i += 10) {
      const uint64_t h = Mix(static_cast<uint64_t>(i) * 1315423911u + generation_[i]);
      const uint32_t beat = beats_[i]++;
      EventView e;
      char sid[40];
      std::snprintf(sid, sizeof sid, "%016" PRIx64 "-%08" PRIx64 "-s", h, static_cast<uint64_t>(i));
      e.session_id = sid;
      e.event_id = sid;  // not used by ops
      e.profile_id = "p";
      const uint64_t z = h % 7485;  // roughly Zipf over 1000 titles: low ranks more often
      e.title_id = titles_[static_cast<size_t>((z * z) / 56025) % 1000];
      e.country = kCountries[(h >> 20) % 17];
      e.cdn = kCdns[(h >> 28) % 4];
      e.device_type = kDevices[(h >> 36) % 6];
      if ((h >> 44) % 20 == 0) e.live_event_id = "live-cup-final";
      e.ts_ms = start_ms_ + sec * 1000 + static_cast<int64_t>((h >> 8) % 1000) +
                static_cast<int64_t>(Mix(h + beat) % 200) - 100;
      e.received_at_ms = e.ts_ms + 150;
      // With --session-minutes M, a session lasts M/2 to 3M/2 minutes.
      const int64_t beats = session_minutes_ * 6;
      const bool end = beats > 0 && beat > 0 &&
                       static_cast<int64_t>(beat) >= beats / 2 + static_cast<int64_t>(h % beats);
      e.type = beat == 0   ? EventType::kAttempt
               : beat == 1 ? EventType::kPlayStart
               : end       ? EventType::kStop
                           : EventType::kHeartbeat;
      if (e.type == EventType::kPlayStart) e.startup_ms = 900;
      fn(e);
      // About 0.6 other events a minute between heartbeats (bitrate changes,
      // pauses, seeks, rebuffers: the simulator's rates), each a mark too.
      const uint64_t x = Mix(h ^ (static_cast<uint64_t>(beat) << 40));
      if (e.type == EventType::kHeartbeat && x % 10 == 0) {
        EventView extra = e;
        extra.type = EventType::kBitrateChange;
        extra.bitrate_kbps = 3000;
        extra.ts_ms += 2000 + static_cast<int64_t>((x >> 8) % 6000);
        extra.received_at_ms = extra.ts_ms + 150;
        fn(extra);
      }
      if (end) {  // a new viewer takes the slot
        ++generation_[i];
        beats_[i] = 0;
      }
    }
  }

 private:
  int64_t n_;
  int64_t start_ms_;
  int64_t session_minutes_;
  std::vector<uint32_t> generation_;
  std::vector<uint32_t> beats_;
  std::vector<std::string> titles_;
};

std::string Arg(int argc, char** argv, const char* name, const char* def) {
  for (int i = 2; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], name) == 0) return argv[i + 1];
  }
  return def;
}

constexpr int64_t kStartMs = 1764400000000;

int Memory(int argc, char** argv) {
  const int64_t sessions = std::stoll(Arg(argc, argv, "--sessions", "1000000"));
  const int64_t minutes = std::stoll(Arg(argc, argv, "--session-minutes", "0"));
  TrackerOptions options;
  const std::string steady = std::to_string(options.lateness_ms / 1000 + 120);
  const int64_t seconds = std::stoll(Arg(argc, argv, "--seconds", steady.c_str()));
  Viewers viewers(sessions, kStartMs, minutes);  // its own memory is counted before
  const size_t rss0 = RssBytes();
  SessionTracker tracker(options);
  uint64_t events = 0;
  int64_t watermark = 0;
  const auto t0 = Steady::now();
  const double cpu0 = CpuSeconds();
  for (int64_t sec = 0; sec < seconds; ++sec) {
    viewers.Second(sec, [&](const EventView& e) {
      tracker.Apply(e);
      watermark = std::max(watermark, SessionTracker::WatermarkTime(e));
      if (++events % 4096 == 0) {  // what OpsProcessor does after each polled batch
        tracker.AdvanceWatermark(watermark);
        tracker.EvictIdle(2 * 4096 + 64);
      }
    });
  }
  tracker.AdvanceWatermark(watermark);
  const double apply_s = Seconds(t0, Steady::now());
  const double apply_cpu = CpuSeconds() - cpu0;  // includes generating the events
  const size_t rss1 = RssBytes();
  // One checkpoint of this state (what OpsProcessor::Checkpoint writes, less
  // the few offsets), when --checkpoint-dir is given.
  const std::string checkpoint_dir = Arg(argc, argv, "--checkpoint-dir", "");
  double checkpoint_s = 0, checkpoint_cpu = 0, fork_ms = 0, fork_child_s = 0;
  uint64_t checkpoint_bytes = 0;
  if (!checkpoint_dir.empty()) {
    const auto c = Steady::now();
    const double c0 = CpuSeconds();
    auto w = CheckpointWriter::Create(Env::Default(), JoinPath(checkpoint_dir, "checkpoint"));
    Status st = w.ok() ? tracker.Save(w->get()) : w.status();
    if (st.ok()) st = (*w)->Commit();
    if (!st.ok()) {
      std::fprintf(stderr, "checkpoint: %s\n", st.ToString().c_str());
      return 1;
    }
    checkpoint_s = Seconds(c, Steady::now());
    checkpoint_cpu = CpuSeconds() - c0;
    checkpoint_bytes = (*w)->bytes();
    // The same from a forked child, as OpsProcessor does in the background:
    // how long the consumer stops (the fork) and how long the child takes.
    const auto f = Steady::now();
    const pid_t pid = ::fork();
    if (pid == 0) {
      auto cw = CheckpointWriter::Create(Env::Default(), JoinPath(checkpoint_dir, "checkpoint"));
      Status cst = cw.ok() ? tracker.Save(cw->get()) : cw.status();
      if (cst.ok()) cst = (*cw)->Commit();
      ::_exit(cst.ok() ? 0 : 1);
    }
    fork_ms = Seconds(f, Steady::now()) * 1000;
    int status = 0;
    ::waitpid(pid, &status, 0);
    fork_child_s = Seconds(f, Steady::now());
    std::filesystem::remove_all(checkpoint_dir);
  }
  const double concurrent = static_cast<double>(sessions);
  std::printf(
      "{\"mode\":\"memory\",\"sessions\":%" PRId64 ",\"tracked_sessions\":%zu,\"seconds\":%" PRId64
      ",\"session_minutes\":%" PRId64 ",\"events\":%" PRIu64
      ",\"apply_events_per_s\":%.0f,\"session_bytes\":%zu,\"state_bytes\":%zu,"
      "\"session_bytes_per_session\":%.1f,\"state_bytes_per_session\":%.1f,"
      "\"rss_growth_bytes\":%zu,\"rss_bytes_per_session\":%.1f,\"keys\":%zu,\"apply_s\":%.1f,"
      "\"cpu_s\":%.1f,\"events_per_cpu_s\":%.0f,\"checkpoint_s\":%.2f,\"checkpoint_cpu_s\":%.2f,"
      "\"checkpoint_bytes\":%" PRIu64
      ",\"checkpoint_fork_pause_ms\":%.1f,\"checkpoint_fork_total_s\":%.2f}\n",
      sessions, tracker.sessions(), seconds, minutes, events, static_cast<double>(events) / apply_s,
      tracker.SessionBytes(), tracker.MemoryBytes(),
      static_cast<double>(tracker.SessionBytes()) / concurrent,
      static_cast<double>(tracker.MemoryBytes()) / concurrent, rss1 - rss0,
      static_cast<double>(rss1 - rss0) / concurrent, tracker.series().key_count(), apply_s,
      apply_cpu, static_cast<double>(events) / apply_cpu, checkpoint_s, checkpoint_cpu,
      checkpoint_bytes, fork_ms, fork_child_s);
  return 0;
}

int Replay(int argc, char** argv) {
  const int64_t target = std::stoll(Arg(argc, argv, "--events", "5000000"));
  const std::string dir = Arg(argc, argv, "--dir", "build/ops-bench-replay");
  std::filesystem::remove_all(dir);
  FileLogOptions lo;
  lo.dir = JoinPath(dir, "log");
  lo.topics = {{"viewing", 4}};
  lo.min_free_bytes = 0;
  lo.max_pending_bytes = 1ull << 30;
  auto log = FileLog::Open(lo);
  if (!log.ok()) {
    std::fprintf(stderr, "%s\n", log.status().ToString().c_str());
    return 1;
  }
  // 100,000 viewers (each heartbeating every 10 s) for as long as it takes.
  const int64_t sessions = std::max<int64_t>(10, std::min<int64_t>(100000, target / 60));
  Viewers viewers(sessions, kStartMs, 30);
  int64_t events = 0;
  std::vector<std::string> values;
  std::vector<std::string> keys;
  std::vector<ProduceRecord> records;
  uint64_t log_bytes = 0;
  for (int64_t sec = 0; events < target; ++sec) {
    values.clear();
    keys.clear();
    viewers.Second(sec, [&](const EventView& e) {
      if (events + static_cast<int64_t>(values.size()) >= target) return;
      values.emplace_back();
      EncodeEvent(e, &values.back());
      keys.emplace_back(e.session_id);
    });
    records.clear();
    for (size_t i = 0; i < values.size(); ++i) {
      records.push_back({"viewing", keys[i], values[i], kStartMs + sec * 1000, -1});
      log_bytes += values[i].size();
    }
    for (size_t i = 0; i < records.size(); i += 20000) {
      const size_t n = std::min<size_t>(20000, records.size() - i);
      Status st = (*log)->Append(std::span<const ProduceRecord>(records.data() + i, n));
      if (!st.ok()) {
        std::fprintf(stderr, "append: %s\n", st.ToString().c_str());
        return 1;
      }
    }
    events += static_cast<int64_t>(values.size());
  }
  // Decoding alone, for scale.
  double decode_cpu = 0;
  {
    EventView e;
    DecodedIds ids;
    std::vector<ConsumedRecord> batch;
    const double a = CpuSeconds();
    for (PartitionId p = 0; p < 4; ++p) {
      auto reader = (*log)->NewReader("viewing", p, 0);
      for (;;) {
        batch.clear();
        auto n = (*reader)->Read(4096, &batch);
        if (!n.ok() || *n == 0) break;
        for (const ConsumedRecord& r : batch) (void)DecodeEvent(r.value, &e, &ids);
      }
    }
    decode_cpu = CpuSeconds() - a;
  }
  MetricsRegistry metrics;
  OpsOptions options;
  options.checkpoint_interval_ms = 3600 * 1000;  // measured separately
  OpsState state(options.tracker);
  OpsProcessor processor(log->get(), "viewing", &state, Env::Default(), JoinPath(dir, "ops"),
                         Clock::System(), &metrics, options);
  ConsumerRunnerOptions ro;
  ro.group = "ops";
  ro.topic = "viewing";
  ro.checkpoint_interval = std::chrono::hours(1);
  ConsumerRunner runner(log->get(), &processor, &metrics, ro);
  const auto a = Steady::now();
  const double cpu0 = CpuSeconds();
  if (!runner.Start().ok()) return 1;
  while (runner.processed() < static_cast<uint64_t>(events)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  const double replay_s = Seconds(a, Steady::now());
  const double replay_cpu = CpuSeconds() - cpu0;
  processor.SetSynchronous(true);  // time the checkpoint on this thread
  runner.Stop();                    // writes the final checkpoint
  const double checkpoint_s =
      metrics.GetHistogram("viewpipe_ops_checkpoint_seconds", "", {})->Sum();
  std::error_code ec;
  const auto checkpoint_bytes =
      std::filesystem::file_size(JoinPath(dir, "ops/checkpoint"), ec);
  std::printf("{\"mode\":\"replay\",\"events\":%" PRId64 ",\"sessions\":%" PRId64
              ",\"event_bytes\":%.1f,\"replay_s\":%.2f,\"replay_events_per_s\":%.0f,"
              "\"replay_cpu_s\":%.2f,\"replay_events_per_cpu_s\":%.0f,"
              "\"decode_only_events_per_cpu_s\":%.0f,\"checkpoint_s\":%.2f,"
              "\"checkpoint_bytes\":%ju,"
              "\"tracked_sessions\":%zu,\"late_beyond_bound\":%" PRIu64 "}\n",
              events, sessions, static_cast<double>(log_bytes) / static_cast<double>(events),
              replay_s, static_cast<double>(events) / replay_s, replay_cpu,
              static_cast<double>(events) / replay_cpu, static_cast<double>(events) / decode_cpu,
              checkpoint_s,
              static_cast<uintmax_t>(ec ? 0 : checkpoint_bytes), state.owner_view().sessions(),
              state.owner_view().stats().late_beyond_bound);
  log->reset();
  std::filesystem::remove_all(dir);
  return 0;
}

// ------------------------------------------------------------ freshness

struct Probe {
  int64_t n = 0;
  int64_t ts = 0;          // event time = wall ms at send
  int64_t acked_ms = 0;    // wall ms when the 200 arrived
  int64_t seen_ms = 0;     // wall ms of the first answer that showed it
  int64_t seen_live_ms = 0;  // the same for GET ...&live=1
  std::string phase;
};

double Percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t i = std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size())));
  return v[i];
}

int Freshness(int argc, char** argv) {
  const std::string url = Arg(argc, argv, "--url", "http://127.0.0.1:8080");
  const std::string key = Arg(argc, argv, "--write-key", "");
  const int64_t seconds = std::stoll(Arg(argc, argv, "--seconds", "60"));
  const double rate = std::stod(Arg(argc, argv, "--rate", "4"));
  const int64_t complete_after = std::stoll(Arg(argc, argv, "--complete-after-ms", "200"));
  std::vector<std::tuple<std::string, int64_t, int64_t>> phases;  // name, from s, to s
  for (int i = 2; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], "--phase") != 0) continue;
    std::string p = argv[i + 1];
    const size_t colon = p.find(':'), dash = p.find('-', colon);
    phases.emplace_back(p.substr(0, colon), std::stoll(p.substr(colon + 1, dash - colon - 1)),
                        std::stoll(p.substr(dash + 1)));
  }
  const int64_t run = Clock::System()->NowMs();
  std::mutex mu;
  std::vector<Probe> probes;
  std::atomic<bool> done{false};
  std::atomic<uint64_t> polls{0}, post_errors{0};
  // The pollers: one fresh connection per GET (see the README on delayed
  // ACKs); one reads the newest complete second, one the running second.
  auto poll = [&](const char* path, int64_t Probe::*seen) {
    while (!done.load()) {
      httplib::Client c(url);
      auto r = c.Get(path);
      const int64_t now = Clock::System()->NowMs();
      ++polls;
      if (r && r->status == 200) {
        std::lock_guard<std::mutex> lock(mu);
        for (Probe& p : probes) {
          if (p.*seen != 0 || p.acked_ms == 0) continue;
          const std::string needle =
              "\"probe-" + std::to_string(run) + "-" + std::to_string(p.n) + "\"";
          if (r->body.find(needle) != std::string::npos) p.*seen = now;
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  };
  std::thread poller(poll, "/v1/ops/concurrency?by=cdn&top=1000000", &Probe::seen_ms);
  std::thread live_poller(poll, "/v1/ops/concurrency?by=cdn&top=1000000&live=1",
                          &Probe::seen_live_ms);
  httplib::Client poster(url);
  poster.set_default_headers({{"Authorization", "Bearer " + key}});
  const auto start = Steady::now();
  for (int64_t n = 0;; ++n) {
    const auto due = start + std::chrono::microseconds(static_cast<int64_t>(1e6 * n / rate));
    if (Seconds(start, due) >= static_cast<double>(seconds)) break;
    std::this_thread::sleep_until(due);
    const double at = Seconds(start, Steady::now());
    std::string phase = "other";
    for (const auto& [name, from, to] : phases) {
      if (at >= static_cast<double>(from) && at < static_cast<double>(to)) phase = name;
    }
    const int64_t ts = Clock::System()->NowMs();
    const std::string id = "probe-" + std::to_string(run) + "-" + std::to_string(n);
    const std::string body =
        "{\"events\":[{\"event_id\":\"" + id + "\",\"type\":\"attempt\",\"ts\":" +
        std::to_string(ts) + ",\"session_id\":\"" + id +
        "\",\"profile_id\":\"probe\",\"title_id\":\"probe\","
        "\"device_type\":\"other\",\"country\":\"US\",\"cdn\":\"" + id + "\"}]}";
    {
      std::lock_guard<std::mutex> lock(mu);
      probes.push_back({n, ts, 0, 0, 0, phase});
    }
    auto r = poster.Post("/v1/events", body, "application/json");
    const int64_t acked = Clock::System()->NowMs();
    std::lock_guard<std::mutex> lock(mu);
    if (r && r->status == 200) {
      probes.back().acked_ms = acked;
    } else {
      ++post_errors;
    }
  }
  // Let the last ones show (a probe needs its second to complete).
  std::this_thread::sleep_for(std::chrono::seconds(5));
  done = true;
  poller.join();
  live_poller.join();
  std::map<std::string, std::vector<double>> raw, net, live;
  size_t missing = 0;
  for (const Probe& p : probes) {
    if (p.acked_ms == 0) continue;
    if (p.seen_ms == 0 || p.seen_live_ms == 0) {
      ++missing;
      continue;
    }
    const int64_t complete = (p.ts / 1000) * 1000 + 999 + complete_after;
    raw[p.phase].push_back(static_cast<double>(p.seen_ms - p.acked_ms));
    live[p.phase].push_back(static_cast<double>(std::max<int64_t>(0, p.seen_live_ms - p.acked_ms)));
    net[p.phase].push_back(static_cast<double>(p.seen_ms - std::max(p.acked_ms, complete)));
  }
  std::printf("{\"mode\":\"freshness\",\"probes\":%zu,\"missing\":%zu,\"post_errors\":%" PRIu64
              ",\"polls\":%" PRIu64 ",\"phases\":{",
              probes.size(), missing, post_errors.load(), polls.load());
  bool first = true;
  for (const auto& [phase, v] : raw) {
    const std::vector<double>& w = net[phase];
    std::printf("%s\"%s\":{\"n\":%zu,\"p50_ms\":%.0f,\"p99_ms\":%.0f,\"max_ms\":%.0f,"
                "\"pipeline_p50_ms\":%.0f,\"pipeline_p99_ms\":%.0f,\"pipeline_max_ms\":%.0f,"
                "\"live_p50_ms\":%.0f,\"live_p99_ms\":%.0f,\"live_max_ms\":%.0f}",
                first ? "" : ",", phase.c_str(), v.size(), Percentile(v, 0.5),
                Percentile(v, 0.99), Percentile(v, 1.0), Percentile(w, 0.5), Percentile(w, 0.99),
                Percentile(w, 1.0), Percentile(live[phase], 0.5), Percentile(live[phase], 0.99),
                Percentile(live[phase], 1.0));
    first = false;
  }
  std::printf("}}\n");
  return missing == 0 ? 0 : 1;
}

}  // namespace
}  // namespace viewpipe::ops

int main(int argc, char** argv) {
  spdlog::set_level(spdlog::level::warn);  // stdout carries the JSON result
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "memory") return viewpipe::ops::Memory(argc, argv);
  if (mode == "replay") return viewpipe::ops::Replay(argc, argv);
  if (mode == "freshness") return viewpipe::ops::Freshness(argc, argv);
  std::fprintf(stderr, "usage: ops_bench memory|replay|freshness [flags] (see the source)\n");
  return 2;
}
