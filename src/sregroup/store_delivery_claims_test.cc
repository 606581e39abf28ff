// StoreDeliveryClaims on a real LocalObjectStore (PutIfAbsent = link(2)):
// one sender per notification among notifiers that run at once, a dead
// holder's claim taken over after its lease (nothing lost), a live
// holder's retries never taken over, a restarted process not mistaking its
// predecessor's claim for its own.
#include "sregroup/store_delivery_claims.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "common/scoped_temp_dir.h"
#include "lake/local_object_store.h"

namespace viewpipe::sre {
namespace {

using Verdict = DeliveryClaims::Verdict;
constexpr const char* kClaimKey = "qoe:cdn:cdn-b:vsf_rate:1700000001000 open";

class SreWebhookClaimsTest : public ::testing::Test {
 protected:
  Verdict ClaimOf(StoreDeliveryClaims& c, const std::string& key = kClaimKey) {
    auto v = c.Claim(key);
    EXPECT_TRUE(v.ok()) << v.status().ToString();
    return v.ok() ? *v : Verdict::kWait;
  }
  size_t Objects(const StoreDeliveryClaims& c) {
    auto listed = store_.List(c.FolderOf(kClaimKey));
    return listed.ok() ? listed->size() : 0;
  }

  ScopedTempDir tmp_;
  LocalObjectStore store_{Env::Default(), tmp_.path()};
  ManualClock clock_{1700000000000};
  DeliveryClaimOptions opt_;
};

TEST_F(SreWebhookClaimsTest, OneHolderSendsTheOtherWaitsThenRecordsItsDelivery) {
  StoreDeliveryClaims a(&store_, &clock_, "a"), b(&store_, &clock_, "b");
  EXPECT_EQ(ClaimOf(a), Verdict::kSend);
  EXPECT_EQ(ClaimOf(b), Verdict::kWait);
  clock_.Advance(opt_.lease_ms - 1);
  EXPECT_EQ(ClaimOf(b), Verdict::kWait);
  ASSERT_TRUE(a.Delivered(kClaimKey).ok());
  clock_.Advance(opt_.lease_ms);
  EXPECT_EQ(ClaimOf(b), Verdict::kDelivered);  // never sends it, however late
  EXPECT_EQ(ClaimOf(a), Verdict::kDelivered);
  StoreDeliveryClaims c(&store_, &clock_, "c");  // a later owner
  EXPECT_EQ(ClaimOf(c), Verdict::kDelivered);
}

TEST_F(SreWebhookClaimsTest, ADeadHoldersClaimIsTakenOverAfterTheLease) {
  StoreDeliveryClaims dead(&store_, &clock_, "a"), b(&store_, &clock_, "b");
  EXPECT_EQ(ClaimOf(dead), Verdict::kSend);  // then killed before sending
  EXPECT_EQ(ClaimOf(b), Verdict::kWait);     // the lease runs from here, on b's clock
  clock_.Advance(opt_.lease_ms - 1);
  EXPECT_EQ(ClaimOf(b), Verdict::kWait);
  clock_.Advance(1);
  EXPECT_EQ(ClaimOf(b), Verdict::kSend);  // claim 2
  EXPECT_EQ(Objects(b), 2u);
  // The old holder, back (a stopped process): past its send window it may
  // not send on claim 1, and claim 2 is b's.
  EXPECT_EQ(ClaimOf(dead), Verdict::kWait);
  ASSERT_TRUE(b.Delivered(kClaimKey).ok());
  EXPECT_EQ(ClaimOf(dead), Verdict::kDelivered);
}

TEST_F(SreWebhookClaimsTest, ALiveHoldersRetriesRenewItsClaimAndAreNotTakenOver) {
  StoreDeliveryClaims a(&store_, &clock_, "a"), b(&store_, &clock_, "b");
  EXPECT_EQ(ClaimOf(a), Verdict::kSend);  // the receiver fails: a retries
  EXPECT_EQ(ClaimOf(b), Verdict::kWait);
  clock_.Advance(opt_.send_within_ms - 1);
  EXPECT_EQ(ClaimOf(a), Verdict::kSend);  // same claim
  EXPECT_EQ(Objects(a), 1u);
  clock_.Advance(1);
  EXPECT_EQ(ClaimOf(a), Verdict::kSend);  // past its send window: claim 2 first
  EXPECT_EQ(Objects(a), 2u);
  clock_.Advance(opt_.lease_ms - opt_.send_within_ms);
  EXPECT_EQ(ClaimOf(b), Verdict::kWait);  // claim 2 is new to b: its lease restarts
  clock_.Advance(opt_.lease_ms - 1);
  EXPECT_EQ(ClaimOf(b), Verdict::kWait);
  clock_.Advance(1);
  EXPECT_EQ(ClaimOf(b), Verdict::kSend);  // a stopped renewing: taken over
}

TEST_F(SreWebhookClaimsTest, ARestartedProcessDoesNotTakeItsPredecessorsClaimForItsOwn) {
  StoreDeliveryClaims before(&store_, &clock_, "host-1-7");
  EXPECT_EQ(ClaimOf(before), Verdict::kSend);
  StoreDeliveryClaims after(&store_, &clock_, "host-1-7");
  EXPECT_EQ(ClaimOf(after), Verdict::kWait);
  clock_.Advance(opt_.lease_ms);
  EXPECT_EQ(ClaimOf(after), Verdict::kSend);
}

TEST_F(SreWebhookClaimsTest, ConcurrentNotifiersHaveOneSenderPerNotification) {
  constexpr int kThreads = 6, kKeys = 30;
  std::atomic<int> sends[kKeys] = {};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      StoreDeliveryClaims c(&store_, &clock_, "n" + std::to_string(t));
      for (int k = 0; k < kKeys; ++k) {
        auto v = c.Claim("alert " + std::to_string(k) + " open");
        if (v.ok() && *v == Verdict::kSend) ++sends[k];
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int k = 0; k < kKeys; ++k) EXPECT_EQ(sends[k].load(), 1) << "key " << k;
}

TEST_F(SreWebhookClaimsTest, KeysWithSlashesAndSpacesStayOneFolderEach) {
  StoreDeliveryClaims a(&store_, &clock_, "a");
  const std::string odd = "qoe:isp:AT&T / Wireless:vsf_rate:1 resolved";
  const std::string folder = a.FolderOf(odd);
  EXPECT_EQ(folder.find('/', opt_.prefix.size()), folder.size() - 1) << folder;
  EXPECT_EQ(folder.find(' '), std::string::npos) << folder;
  EXPECT_NE(a.FolderOf(odd), a.FolderOf("qoe:isp:AT&T / Wireless:vsf_rate:1 open"));
  EXPECT_EQ(ClaimOf(a, odd), Verdict::kSend);
  ASSERT_TRUE(a.Delivered(odd).ok());
  EXPECT_EQ(ClaimOf(a, odd), Verdict::kDelivered);
}

}  // namespace
}  // namespace viewpipe::sre
