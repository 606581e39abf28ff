// dedup_bench: the dedup index alone, at the sizes a server reaches under
// load (tens of millions of ids), in one thread, without HTTP or the log.
//
//   dedup_bench [--ids 30000000] [--batch 500] [--step 5000000] [--lookups 5000000]
//
// 1. Fill: claims and commits `ids` random ids in calls of `batch`, as the
//    collector does per request, and prints the wall time per id of
//    ClaimAll and of Commit for every `step` ids (the tables double as they
//    fill, so steps differ).
// 2. Lookups: `lookups` ids that are all in the index again (every one a
//    duplicate: a probe of the table, no store, no growth), then 500,000
//    new ids on top (claim + commit in a full index).
//
// Prints one JSON line. ingest_stages measures the same calls on 1 M ids,
// whose tables stay in the cache; this shows the cache misses of a large
// index (bench/README.md, "Ingest").

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "ingest/dedup_index.h"

namespace viewpipe {
namespace {

using Clock = std::chrono::steady_clock;

double Ns(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::nano>(b - a).count();
}

// A random fingerprint, as KeyOf gives for a random event_id (hashing is
// not what is measured here).
DedupIndex::Key RandomKey(std::mt19937_64& rng) {
  const uint64_t lo = rng(), hi = rng();
  return DedupIndex::Key{lo | 1, static_cast<uint16_t>(hi), static_cast<uint32_t>(hi >> 54)};
}

struct Args {
  uint64_t ids = 30'000'000;
  uint64_t batch = 500;
  uint64_t step = 5'000'000;
  uint64_t lookups = 5'000'000;
};

int Main(const Args& a) {
  DedupIndex index(3600 * 1000);
  std::vector<DedupIndex::Key> keys(a.batch);
  std::vector<DedupIndex::Claim> claims;
  const int64_t now_ms = 1'700'000'000'000;

  std::string steps;
  std::mt19937_64 fill_rng(1);
  double claim_ns = 0, commit_ns = 0;
  uint64_t in_step = 0, new_ids = 0, filled = 0;
  for (uint64_t n = 0; n < a.ids; n += a.batch) {
    for (auto& k : keys) k = RandomKey(fill_rng);
    const auto t0 = Clock::now();
    const DedupIndex::Ticket ticket = index.ClaimAll(keys, now_ms, &claims);
    const auto t1 = Clock::now();
    index.Commit(ticket);
    const auto t2 = Clock::now();
    claim_ns += Ns(t0, t1);
    commit_ns += Ns(t1, t2);
    for (auto c : claims) new_ids += c == DedupIndex::Claim::kNew;
    in_step += a.batch;
    filled += a.batch;
    if (in_step >= a.step || n + a.batch >= a.ids) {
      char buf[128];
      std::snprintf(buf, sizeof buf, "%s{\"ids\":%llu,\"claim_ns\":%.0f,\"commit_ns\":%.0f}",
                    steps.empty() ? "" : ",", static_cast<unsigned long long>(n + a.batch),
                    claim_ns / static_cast<double>(in_step),
                    commit_ns / static_cast<double>(in_step));
      steps += buf;
      claim_ns = commit_ns = 0;
      in_step = 0;
    }
  }

  // The same ids again: every one must be a duplicate.
  std::mt19937_64 again(1);
  uint64_t dups = 0, looked = 0;
  double lookup_ns = 0;
  for (; looked < std::min(a.lookups, filled); looked += a.batch) {
    for (auto& k : keys) k = RandomKey(again);
    const auto t0 = Clock::now();
    index.Commit(index.ClaimAll(keys, now_ms, &claims));  // nothing new: its ticket back
    lookup_ns += Ns(t0, Clock::now());
    for (auto c : claims) dups += c == DedupIndex::Claim::kDuplicate;
  }
  std::mt19937_64 fresh(2);
  double full_ns = 0;
  uint64_t more = 0;
  for (; more < 500'000; more += a.batch) {
    for (auto& k : keys) k = RandomKey(fresh);
    const auto t0 = Clock::now();
    index.Commit(index.ClaimAll(keys, now_ms, &claims));
    full_ns += Ns(t0, Clock::now());
  }
  if (new_ids != filled || dups != looked) {
    std::fprintf(stderr, "dedup_bench: %llu new of %llu filled, %llu duplicates of %llu\n",
                 static_cast<unsigned long long>(new_ids), static_cast<unsigned long long>(filled),
                 static_cast<unsigned long long>(dups), static_cast<unsigned long long>(looked));
    return 1;
  }
  std::printf(
      "{\"ids\":%llu,\"batch\":%llu,\"fill\":[%s],\"duplicate_lookup_ns\":%.0f,"
      "\"new_in_full_index_ns\":%.0f,\"memory_bytes\":%zu}\n",
      static_cast<unsigned long long>(filled), static_cast<unsigned long long>(a.batch),
      steps.c_str(), lookup_ns / static_cast<double>(std::max<uint64_t>(looked, 1)), full_ns / static_cast<double>(more),
      index.MemoryBytes());
  return 0;
}

}  // namespace
}  // namespace viewpipe

int main(int argc, char** argv) {
  viewpipe::Args a;
  CLI::App app{"dedup_bench: the dedup index alone at tens of millions of ids"};
  app.add_option("--ids", a.ids, "ids to fill the index with")->check(CLI::PositiveNumber);
  app.add_option("--batch", a.batch, "ids per call, as per request")->check(CLI::PositiveNumber);
  app.add_option("--step", a.step, "report the fill every this many ids")
      ->check(CLI::PositiveNumber);
  app.add_option("--lookups", a.lookups, "known ids looked up after the fill");
  CLI11_PARSE(app, argc, argv);
  return viewpipe::Main(a);
}
