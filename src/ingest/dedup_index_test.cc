#include "ingest/dedup_index.h"
#include "common/sanitizer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace viewpipe {
namespace {

using Claim = DedupIndex::Claim;
constexpr int64_t kWindow = 3600 * 1000;
constexpr int64_t kNow = 1'700'000'000'000;

using Ticket = DedupIndex::Ticket;

// The ids' kNew ones of a ClaimAll's answer.
std::vector<std::string_view> NewOnes(const std::vector<std::string_view>& ids,
                                      const std::vector<Claim>& out) {
  std::vector<std::string_view> fresh;
  for (size_t i = 0; i < ids.size(); ++i) {
    if (out[i] == Claim::kNew) fresh.push_back(ids[i]);
  }
  return fresh;
}

// Claims ids. The call's ticket goes to *ticket, for the test to commit or
// release; without one the call is only a look, and its new ids are given
// back at once.
std::vector<Claim> ClaimAll(DedupIndex& index, const std::vector<std::string_view>& ids,
                            int64_t now = kNow, Ticket* ticket = nullptr) {
  std::vector<Claim> out;
  const Ticket t = index.ClaimAll(ids, now, &out);
  if (ticket != nullptr) {
    *ticket = t;
  } else {
    index.Release(t, NewOnes(ids, out));
  }
  return out;
}

TEST(DedupIndexTest, NewThenDuplicateAfterCommit) {
  DedupIndex index(kWindow);
  std::vector<std::string_view> ids = {"a", "b"};
  Ticket t;
  EXPECT_EQ(ClaimAll(index, ids, kNow, &t), (std::vector<Claim>{Claim::kNew, Claim::kNew}));
  index.Commit(t);
  EXPECT_EQ(ClaimAll(index, {"a", "c", "b"}),
            (std::vector<Claim>{Claim::kDuplicate, Claim::kNew, Claim::kDuplicate}));
}

TEST(DedupIndexTest, RepeatWithinOneCallIsDuplicate) {
  DedupIndex index(kWindow);
  EXPECT_EQ(ClaimAll(index, {"x", "y", "x"}),
            (std::vector<Claim>{Claim::kNew, Claim::kNew, Claim::kDuplicate}));
}

TEST(DedupIndexTest, ReleasedIdsCanBeClaimedAgain) {
  DedupIndex index(kWindow);
  std::vector<std::string_view> ids = {"a"};
  Ticket t;
  ClaimAll(index, ids, kNow, &t);
  index.Release(t, ids);
  EXPECT_EQ(ClaimAll(index, ids), std::vector<Claim>{Claim::kNew});
}

TEST(DedupIndexTest, ExpiresAfterWindow) {
  DedupIndex index(kWindow);
  std::vector<std::string_view> ids = {"a"};
  Ticket t;
  ClaimAll(index, ids, kNow, &t);
  index.Commit(t);
  EXPECT_EQ(ClaimAll(index, ids, kNow + kWindow - 1000), std::vector<Claim>{Claim::kDuplicate});
  EXPECT_EQ(ClaimAll(index, ids, kNow + kWindow + 1000), std::vector<Claim>{Claim::kNew});
}

// Regression: expiry was rounded down to a whole second, forgetting ids up
// to 1 s before the window ended.
TEST(DedupIndexTest, NeverExpiresBeforeTheWindowEnds) {
  DedupIndex index(2000);
  std::vector<std::string_view> ids = {"a"};
  const int64_t accepted = kNow + 100;
  Ticket t;
  ClaimAll(index, ids, accepted, &t);
  index.Commit(t);
  for (int64_t t = accepted; t <= accepted + 2000; t += 50) {
    ASSERT_EQ(ClaimAll(index, ids, t), std::vector<Claim>{Claim::kDuplicate}) << t - accepted;
  }
}

TEST(DedupIndexTest, RememberedIdsAreDuplicates) {
  DedupIndex index(kWindow);
  index.Remember("r", kNow - 1000);
  EXPECT_EQ(ClaimAll(index, {"r"}), std::vector<Claim>{Claim::kDuplicate});
  index.Remember("old", kNow - kWindow - 5000);
  EXPECT_EQ(ClaimAll(index, {"old"}), std::vector<Claim>{Claim::kNew});
}

TEST(DedupIndexTest, GrowsAndStaysExactOverManyIds) {
  DedupIndex index(kWindow);
  std::vector<std::string> owned;
  for (int i = 0; i < 200000; ++i) owned.push_back("event-" + std::to_string(i));
  std::vector<std::string_view> ids(owned.begin(), owned.end());
  Ticket t;
  auto first = ClaimAll(index, ids, kNow, &t);
  for (Claim c : first) ASSERT_EQ(c, Claim::kNew);
  index.Commit(t);
  auto second = ClaimAll(index, ids);
  for (Claim c : second) ASSERT_EQ(c, Claim::kDuplicate);
  EXPECT_GE(index.Size(), ids.size());
  // 16-byte slots, at most 4x oversized after growth.
  EXPECT_LE(index.MemoryBytes(), ids.size() * 16 * 4 + 64 * 64 * 16);
}

TEST(DedupIndexTest, ExpiredSlotsAreReclaimedOnGrowth) {
  DedupIndex index(1000);
  std::vector<std::string> owned;
  for (int i = 0; i < 50000; ++i) owned.push_back("e" + std::to_string(i));
  for (int round = 0; round < 10; ++round) {
    std::vector<std::string_view> ids;
    for (const auto& s : owned) ids.push_back(s);
    int64_t now = kNow + round * 10'000;
    Ticket t;
    auto claims = ClaimAll(index, ids, now, &t);
    index.Commit(t);
    for (Claim c : claims) ASSERT_EQ(c, Claim::kNew) << "round " << round;
  }
  // Ten rounds of the same 50k ids that expired in between: the table did not
  // keep growing with dead entries.
  EXPECT_LE(index.MemoryBytes(), 50000u * 16 * 4 + 64 * 64 * 16);
}

// A second request that meets an id in flight waits for the first one's
// outcome: a duplicate only if the first one's append succeeded.
// Ids accepted steadily, 1,000 every 10 s for 2,000 s, into an index
// bounded at 20,000 ids (of the 200,000 a 1 h window would hold).
struct SteadyRun {
  std::vector<std::vector<std::string>> batches;
  int64_t end_ms = 0;
};
SteadyRun AcceptSteadily(DedupIndex& index) {
  SteadyRun run;
  for (int b = 0; b < 200; ++b) {
    std::vector<std::string>& ids = run.batches.emplace_back();
    for (int i = 0; i < 1000; ++i) ids.push_back("id-" + std::to_string(b) + "-" + std::to_string(i));
    const std::vector<std::string_view> views(ids.begin(), ids.end());
    run.end_ms = kNow + b * 10'000;
    std::vector<Claim> out;
    index.Commit(index.ClaimAll(views, run.end_ms, &out));
    EXPECT_EQ(std::count(out.begin(), out.end(), Claim::kNew), 1000);
  }
  return run;
}
int Duplicates(DedupIndex& index, const std::vector<std::string>& ids, int64_t now) {
  const std::vector<std::string_view> views(ids.begin(), ids.end());
  const std::vector<Claim> out = ClaimAll(index, views, now);
  return static_cast<int>(std::count(out.begin(), out.end(), Claim::kDuplicate));
}

TEST(DedupIndexTest, MemoryBoundForgetsTheOldestIdsFirst) {
  DedupIndex index(kWindow, 20'000);
  const SteadyRun run = AcceptSteadily(index);
  // Held slots (forgotten ones until their table next fills) and memory stay
  // near the bound, not at the 200,000 accepted.
  EXPECT_LE(index.Size(), 40'000u);
  EXPECT_LE(index.MemoryBytes(), 30'000u * 64);
  // The newest ids are still duplicates; the oldest were forgotten.
  EXPECT_EQ(Duplicates(index, run.batches.back(), run.end_ms), 1000);
  EXPECT_EQ(Duplicates(index, run.batches[run.batches.size() - 10], run.end_ms), 1000);
  EXPECT_EQ(Duplicates(index, run.batches.front(), run.end_ms), 0);
  // The window in force says so: shorter than 1 h, long enough for the
  // newest ~15,000 ids (150 s at this rate) and no more than ~20,000.
  const int64_t effective = index.EffectiveWindowMs(run.end_ms);
  EXPECT_LT(effective, kWindow);
  EXPECT_GE(effective, 100'000);
  EXPECT_LE(effective, 250'000);
}

TEST(DedupIndexTest, UnboundedIndexForgetsNothingWithinTheWindow) {
  DedupIndex index(kWindow);
  const SteadyRun run = AcceptSteadily(index);
  EXPECT_EQ(index.Size(), 200'000u);
  EXPECT_EQ(Duplicates(index, run.batches.front(), run.end_ms), 1000);
  EXPECT_EQ(index.EffectiveWindowMs(run.end_ms), kWindow);
}

TEST(DedupIndexTest, PendingIdWaitsForOutcome) {
  for (bool commit : {true, false}) {
    DedupIndex index(kWindow);
    std::vector<std::string_view> ids = {"same"};
    Ticket t;
    ClaimAll(index, ids, kNow, &t);
    std::atomic<bool> done{false};
    Claim seen = Claim::kNew;
    std::thread other([&] {
      seen = ClaimAll(index, ids)[0];
      done = true;
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_FALSE(done.load()) << "claim of a pending id must wait";
    if (commit) {
      index.Commit(t);
    } else {
      index.Release(t, ids);
    }
    other.join();
    EXPECT_EQ(seen, commit ? Claim::kDuplicate : Claim::kNew);
  }
}

TEST(DedupIndexTest, ConcurrentClaimsGiveEachIdOnce) {
  DedupIndex index(kWindow);
  std::vector<std::string> owned;
  for (int i = 0; i < 20000; ++i) owned.push_back("c" + std::to_string(i));
  std::atomic<int> news{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (size_t start = 0; start < owned.size(); start += 100) {
        std::vector<std::string_view> ids(owned.begin() + start, owned.begin() + start + 100);
        std::vector<Claim> out;
        const Ticket ticket = index.ClaimAll(ids, kNow, &out);
        news += static_cast<int>(NewOnes(ids, out).size());
        index.Commit(ticket);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(news.load(), 20000);
}

// Calls that claim overlapping ids in different orders, with appends that
// fail now and then (Release): no deadlock, and no id is ever committed twice.
TEST(DedupIndexTest, CrossingClaimsWithReleasesCommitEachIdAtMostOnce) {
  DedupIndex index(kWindow);
  std::vector<std::string> owned;
  for (int i = 0; i < 64; ++i) owned.push_back("x" + std::to_string(i));
  std::mutex mu;
  std::map<std::string_view, int> commits;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(t);
      for (int round = 0; round < 300; ++round) {
        std::vector<std::string_view> ids;
        for (int k = 0; k < 24; ++k) ids.push_back(owned[rng() % owned.size()]);
        std::vector<Claim> out;
        const Ticket ticket = index.ClaimAll(ids, kNow, &out);
        const std::vector<std::string_view> mine = NewOnes(ids, out);
        if (rng() % 3 == 0) {
          index.Release(ticket, mine);
          continue;
        }
        {
          std::lock_guard<std::mutex> lock(mu);
          for (std::string_view id : mine) ++commits[id];
        }
        index.Commit(ticket);
      }
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& [id, n] : commits) EXPECT_EQ(n, 1) << id;
  std::vector<std::string_view> all(owned.begin(), owned.end());
  auto last = ClaimAll(index, all);
  for (size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(last[i], commits.count(all[i]) ? Claim::kDuplicate : Claim::kNew) << all[i];
  }
}

// A call that meets another call's pending id waits for it (after giving
// back its own claims) and still claims its other ids.
TEST(DedupIndexTest, CallMeetingAPendingIdWaitsAndClaimsItsOtherIds) {
  DedupIndex index(kWindow);
  std::vector<std::string_view> first = {"p"};
  Ticket t;
  ClaimAll(index, first, kNow, &t);
  std::atomic<bool> done{false};
  std::vector<Claim> seen;
  std::thread blocked([&] {
    seen = ClaimAll(index, {"q", "p", "q"});
    done = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(done.load());
  index.Commit(t);
  blocked.join();
  EXPECT_EQ(seen, (std::vector<Claim>{Claim::kNew, Claim::kDuplicate, Claim::kDuplicate}));
  EXPECT_EQ(ClaimAll(index, {"p"}), std::vector<Claim>{Claim::kDuplicate});
}

// Tickets are reused: a committed id's slot keeps its ticket's number, and
// when a later call holds that number, a retry of the id waits for that
// call, then is still a duplicate, also when the call's append failed (its
// Release frees its own ids only).
TEST(DedupIndexTest, AReusedTicketNeverFreesOrForgetsAnEarlierCallsIds) {
  for (bool commit : {true, false}) {
    DedupIndex index(kWindow);
    Ticket old_ticket;
    ClaimAll(index, {"old"}, kNow, &old_ticket);
    index.Commit(old_ticket);
    // Calls one after another until one gets old_ticket's number again.
    std::vector<std::string> owned;
    owned.reserve(70'000);
    Ticket t = 0;
    std::vector<std::string_view> held;
    for (int i = 0; i < 70'000; ++i) {
      owned.push_back("n" + std::to_string(i));
      held = {owned.back()};
      if (ClaimAll(index, held, kNow, &t) != std::vector<Claim>{Claim::kNew}) {
        FAIL() << "call " << i << " did not claim its new id";
      }
      if (t == old_ticket) break;
      index.Commit(t);
    }
    ASSERT_EQ(t, old_ticket) << "no ticket number came round again in 70,000 calls";
    // "old" is committed, and its slot carries a number now pending.
    std::atomic<bool> done{false};
    Claim seen = Claim::kNew;
    std::thread retry([&] {
      seen = ClaimAll(index, {"old"})[0];
      done = true;
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (commit) {
      index.Commit(t);
    } else {
      index.Release(t, held);
    }
    retry.join();
    EXPECT_EQ(seen, Claim::kDuplicate) << "commit " << commit;
    EXPECT_EQ(ClaimAll(index, {"old"}), std::vector<Claim>{Claim::kDuplicate});
    EXPECT_EQ(ClaimAll(index, held),
              std::vector<Claim>{commit ? Claim::kDuplicate : Claim::kNew});
  }
}

// Every call takes a ticket, new ids or not: many more calls than there are
// tickets, each resolved, never run out.
TEST(DedupIndexTest, TicketsComeBackOnceResolved) {
  DedupIndex index(kWindow);
  Ticket t;
  ClaimAll(index, {"a"}, kNow, &t);
  index.Commit(t);
  // Past the 65,536 ticket numbers: three times, once under the sanitizers.
  const int calls = kUnderSanitizer ? 70'000 : 200'000;
  for (int i = 0; i < calls; ++i) {
    std::vector<Claim> out;
    index.Commit(index.ClaimAll(std::vector<std::string_view>{"a"}, kNow, &out));
    ASSERT_EQ(out, std::vector<Claim>{Claim::kDuplicate});
  }
}

TEST(DedupIndexTest, KeysAreStableAndDistinct) {
  EXPECT_EQ(DedupIndex::KeyOf("abc"), DedupIndex::KeyOf(std::string("abc")));
  EXPECT_FALSE(DedupIndex::KeyOf("abc") == DedupIndex::KeyOf("abd"));
  EXPECT_EQ(DedupIndex::KeyOf("abc").lo & 1, 1u);
}

}  // namespace
}  // namespace viewpipe
