// sre_replay: replays a data directory's `qoe` topic through the SRE path
// (SreProcessor + SreState + OutageDetector, the server's code) offline and
// prints every alert it raises as one JSON line each, then a summary line.
//
// It shows whether a detection depends on how the records arrive: the
// consumer's batches are emulated as `--batch` records read from one
// partition at a time, round robin (what FileLogConsumer::Poll does while
// the consumer is behind: 4096 from one partition), or, with
// `--mixed`, `--batch` records taken from every partition in turn per
// batch (a consumer that keeps up). Between-tick evaluations run for the
// whole replay, as in the steady-hour bench.
//
//   build/release/bench/sre_replay --data-dir DIR [--batch 4096] [--mixed] [--set k=v ...]
//   build/release/bench/sre_replay --data-dir DIR --live STEP_MS [--delay-ms D]
//                                  [--set max_p_value=1e-8 ...]
//
// --live: in arrival order instead, as the live consumer saw it
// (sre_replay_live.h): the earliest wall time each alert could be raised.
//
// DIR is opened read only (a copy of a bench run's data dir, or a live one).

#include <spdlog/spdlog.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "common/clock.h"
#include "log/file_log.h"
#include "sre/alert_book.h"
#include "sre/sre_processor.h"
#include "sre/sre_state.h"
#include "sre_replay_live.h"

using namespace viewpipe;

namespace {

struct Args {
  std::string data_dir;
  size_t batch = 4096;
  bool mixed = false;
  int64_t live_step_ms = 0;  // > 0: --live
  int64_t delay_ms = 0;
  std::vector<std::pair<std::string, double>> set;  // --set key=value
};

bool Parse(int argc, char** argv, Args* a) {
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    if (k == "--mixed") {
      a->mixed = true;
    } else if (i + 1 < argc && k == "--data-dir") {
      a->data_dir = argv[++i];
    } else if (i + 1 < argc && k == "--batch") {
      a->batch = std::stoul(argv[++i]);
    } else if (i + 1 < argc && k == "--live") {
      a->live_step_ms = std::stoll(argv[++i]);
    } else if (i + 1 < argc && k == "--delay-ms") {
      a->delay_ms = std::stoll(argv[++i]);
    } else if (i + 1 < argc && k == "--set") {
      const std::string kv = argv[++i];
      const size_t eq = kv.find('=');
      if (eq == std::string::npos) return false;
      a->set.emplace_back(kv.substr(0, eq), std::stod(kv.substr(eq + 1)));
    } else {
      return false;
    }
  }
  return !a->data_dir.empty() && a->batch > 0;
}

// Reads the next batch: `n` records of partition p (or fewer at its end).
size_t ReadInto(RecordReader* r, size_t n, std::vector<ConsumedRecord>* out) {
  auto got = r->Read(n, out);
  return got.ok() ? *got : 0;
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  if (!Parse(argc, argv, &args)) {
    std::fprintf(stderr,
                 "usage: sre_replay --data-dir DIR [--batch N] [--mixed] | [--live STEP_MS "
                 "[--delay-ms D]]\n");
    return 2;
  }
  spdlog::set_level(spdlog::level::warn);
  if (args.live_step_ms > 0) {
    return bench::RunLiveReplay({args.data_dir, args.live_step_ms, args.delay_ms, args.set});
  }
  FileLogOptions lo;
  lo.dir = JoinPath(args.data_dir, "log");
  lo.read_only = true;
  auto log = FileLog::Open(lo);
  if (!log.ok()) {
    std::fprintf(stderr, "cannot open the log: %s\n", log.status().ToString().c_str());
    return 1;
  }
  sre::SreOptions options;
  options.detector.partial_within_ms = INT64_MAX / 4;  // as the steady-hour bench
  for (const auto& [key, value] : args.set) {
    if (!bench::SetKnob(key, value, &options.detector)) {
      std::fprintf(stderr, "unknown --set key %s\n", key.c_str());
      return 2;
    }
  }
  ManualClock clock(0);
  sre::AlertBook book(nullptr, "");
  sre::SreState state(options, &book, &clock);
  sre::SreProcessor processor(log->get(), "qoe", &state, &book, &clock, nullptr);
  if (!processor.Restore().ok()) return 1;
  const int partitions = (*log)->Partitions("qoe");
  std::vector<std::unique_ptr<RecordReader>> readers;
  for (PartitionId p = 0; p < partitions; ++p) {
    auto r = (*log)->NewReader("qoe", p, 0);
    if (!r.ok()) return 1;
    readers.push_back(std::move(*r));
  }
  // Each partition's records are read into its own buffer (a reader's
  // views live until its next Read), then handed over as one batch.
  std::vector<std::vector<ConsumedRecord>> bufs(readers.size());
  uint64_t records = 0;
  for (size_t round = 0, empty = 0; empty < readers.size(); ++round) {
    std::vector<ConsumedRecord> batch;
    size_t got = 0;
    if (args.mixed) {
      for (size_t i = 0; i < readers.size(); ++i) {
        bufs[i].clear();
        got += ReadInto(readers[i].get(), args.batch / readers.size() + 1, &bufs[i]);
        batch.insert(batch.end(), bufs[i].begin(), bufs[i].end());
      }
    } else {
      const size_t i = round % readers.size();
      bufs[i].clear();
      got = ReadInto(readers[i].get(), args.batch, &bufs[i]);
      batch = bufs[i];
    }
    empty = got == 0 ? empty + 1 : 0;
    if (got == 0) continue;
    records += got;
    if (auto w = state.watermark()) clock.Set(*w);
    if (!processor.Process(batch).ok()) return 1;
  }
  size_t n = 0;
  for (const sre::Alert& a : book.List(false, 0)) {
    if (a.kind != "qoe" && a.kind != "silence") continue;
    std::string line;
    sre::AppendAlertJson(a, &line);
    std::printf("%s\n", line.c_str());
    ++n;
  }
  std::printf("{\"records\":%llu,\"alerts\":%zu,\"batch\":%zu,\"mixed\":%s}\n",
              static_cast<unsigned long long>(records), n, args.batch,
              args.mixed ? "true" : "false");
  return 0;
}
