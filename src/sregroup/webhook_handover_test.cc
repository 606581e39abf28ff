// The sre group's webhook across a hand-over of the detector (docs/scale.md,
// "The sre path as several processes"): two GroupDetectors on one shared
// store and one real HTTP receiver.
//  - The old owner still runs after the new one loaded the state (a clean
//    rebalance: partition 0 moved, the old process has not noticed yet):
//    each notification reaches the receiver once, not once per owner.
//  - The owner is killed after the receiver's 2xx, before its cycle stored
//    the delivery log: the next owner does not send it again.
//  - The owner is killed after claiming a notification, before sending it:
//    the next owner sends it once the claim's lease ran out (nothing lost).
#include <gtest/gtest.h>
#include <httplib.h>

#include <chrono>
#include <map>
#include <mutex>
#include <thread>

#include "common/scoped_temp_dir.h"
#include "lake/local_object_store.h"
#include "sregroup/group_detector.h"
#include "sregroup/store_delivery_claims.h"

namespace viewpipe::sre {
namespace {

constexpr int64_t kHookT0 = 1700000000000;

// A webhook receiver on loopback that answers 200 after delay_ms and counts
// every notification key it acknowledged.
class HookReceiver {
 public:
  explicit HookReceiver(int delay_ms) {
    server_.Post("/hook", [this, delay_ms](const httplib::Request& req, httplib::Response& res) {
      std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
      std::lock_guard lock(mu_);
      ++got_[req.get_header_value("X-Viewpipe-Notification")];
      res.status = 200;
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~HookReceiver() {
    server_.stop();
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/hook"; }
  std::map<std::string, int> got() const {
    std::lock_guard lock(mu_);
    return got_;
  }
  // Waits up to 10 s for n distinct keys.
  bool WaitFor(size_t n) const {
    for (int i = 0; i < 1000 && got().size() < n; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return got().size() >= n;
  }

 private:
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  mutable std::mutex mu_;
  std::map<std::string, int> got_;
};

Alert HookAlert(const std::string& cdn, int64_t started_at) {
  Alert a;
  a.kind = "qoe";
  a.dimension = "cdn";
  a.key = cdn;
  a.metric = "vsf_rate";
  a.severity = "critical";
  a.started_at = started_at;
  a.detected_at = started_at + 5000;
  a.detected_event_time = started_at + 4000;
  a.id = Alert::MakeId(a.kind, a.dimension, a.key, a.metric, a.started_at);
  return a;
}

class WebhookHandoverTest : public ::testing::Test {
 protected:
  // The stored book: cdn-a's alert open, cdn-b's resolved: 3 notifications.
  void SetUp() override {
    const std::string path = JoinPath(tmp_.path(), "book");
    AlertBook book(Env::Default(), path);
    ASSERT_TRUE(book.Raise(HookAlert("cdn-a", kHookT0)));
    ASSERT_TRUE(book.Raise(HookAlert("cdn-b", kHookT0 + 1000)));
    book.Resolve(HookAlert("cdn-b", kHookT0 + 1000).id, kHookT0 + 60000);
    ASSERT_TRUE(store_.PutFile(GroupDetector::kAlertsKey, path, nullptr).ok());
  }

  // A member's detector; it believes it owns partition 0 while *owner is
  // true, and sees partition 1 without an owner while *missing (if given).
  std::unique_ptr<GroupDetector> Detector(int me, const bool* owner, const std::string& url,
                                          const bool* missing = nullptr) {
    GroupDetectorDeps d;
    d.store = &store_;
    d.env = Env::Default();
    d.local_dir = JoinPath(tmp_.path(), "member" + std::to_string(me));
    d.clock = &clock_;
    d.gather = [missing](const PartialQuery&) {
      Gathered g;
      g.parts.emplace_back();  // no watermark yet: the detector only waits
      if (missing != nullptr && *missing) g.missing.push_back(1);
      return g;
    };
    d.is_detector = [owner] { return *owner; };
    WebhookOptions w;
    w.url = url;
    d.webhook = w;
    return std::make_unique<GroupDetector>(SreOptions{}, std::move(d));
  }

  static void ExpectEachOnce(const std::map<std::string, int>& got) {
    const std::string b = HookAlert("cdn-b", kHookT0 + 1000).id;
    const std::map<std::string, int> want = {{HookAlert("cdn-a", kHookT0).id + " open", 1},
                                             {b + " open", 1},
                                             {b + " resolved", 1}};
    EXPECT_EQ(got, want);
  }

  ScopedTempDir tmp_;
  LocalObjectStore store_{Env::Default(), JoinPath(tmp_.path(), "store")};
  ManualClock clock_{kHookT0};
};

TEST_F(WebhookHandoverTest, OldOwnerStillRunningAfterTheNewOneLoadedSendsNothingTwice) {
  HookReceiver hook(50);
  const bool yes = true;
  auto old_owner = Detector(1, &yes, hook.url());
  auto new_owner = Detector(2, &yes, hook.url());
  old_owner->Cycle();  // takes the detector over, loads the book
  new_owner->Cycle();  // partition 0 moved: loads the same book and delivery log
  ASSERT_TRUE(old_owner->active() && new_owner->active());
  ASSERT_TRUE(hook.WaitFor(3));
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // any second send
  ExpectEachOnce(hook.got());
}

TEST_F(WebhookHandoverTest, KilledAfterTheReceiversAckBeforeItsCycleStoredTheLog) {
  HookReceiver hook(0);
  const bool yes = true;
  auto old_owner = Detector(1, &yes, hook.url());
  old_owner->Cycle();
  ASSERT_TRUE(hook.WaitFor(3));
  old_owner.reset();  // killed: no further cycle stored its delivery log
  auto new_owner = Detector(2, &yes, hook.url());
  new_owner->Cycle();
  ASSERT_TRUE(new_owner->active());
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  ExpectEachOnce(hook.got());
}

TEST_F(WebhookHandoverTest, KilledAfterClaimingBeforeSendingIsSentOnceTheLeaseRanOut) {
  HookReceiver hook(0);
  // The old owner claimed cdn-b's open notification, then died before sending it.
  const std::string b = HookAlert("cdn-b", kHookT0 + 1000).id;
  StoreDeliveryClaims dead(&store_, &clock_, "dead-owner");
  auto v = dead.Claim(b + " open");
  ASSERT_TRUE(v.ok() && *v == DeliveryClaims::Verdict::kSend);
  const bool yes = true;
  auto new_owner = Detector(2, &yes, hook.url());
  new_owner->Cycle();
  // cdn-a's goes out; cdn-b's open waits for the lease, and its resolved after it.
  ASSERT_TRUE(hook.WaitFor(1));
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  const std::map<std::string, int> first = {{HookAlert("cdn-a", kHookT0).id + " open", 1}};
  EXPECT_EQ(hook.got(), first) << "sent while another owner's claim was live";
  clock_.Advance(DeliveryClaimOptions{}.lease_ms);
  ASSERT_TRUE(hook.WaitFor(3));
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  ExpectEachOnce(hook.got());
}

// The old owner, still running after the new one took its epoch and loaded
// the book, raises an alert (here partition_unowned: the window is a
// rebalance). Without the fence it stored and notified it, the new owner
// never knew it, and its resolution was never notified (this failed:
// "... resolved" never came). Now the old owner finds the newer epoch and
// stops: every alert notified open is in the book the owner keeps, and
// resolved when its cause ends.
TEST_F(WebhookHandoverTest, AnAlertNotifiedOpenIsKnownToTheOwnerThatResolvesIt) {
  HookReceiver hook(0);
  bool old_owns = true, old_sees_missing = false, new_sees_missing = false;
  const bool yes = true;
  auto old_owner = Detector(1, &old_owns, hook.url(), &old_sees_missing);
  auto new_owner = Detector(2, &yes, hook.url(), &new_sees_missing);
  old_owner->Cycle();
  new_owner->Cycle();
  ASSERT_TRUE(hook.WaitFor(3));
  old_sees_missing = true;  // the rebalance: partition 1 unowned, seen by the old owner
  old_owner->Cycle();
  clock_.Advance(2500);
  old_owner->Cycle();  // raises partition_unowned
  EXPECT_FALSE(old_owner->active()) << "the old owner was not fenced";
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // its webhook's scans
  old_owns = false;  // its next poll: partition 0 moved
  old_owner->Cycle();
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  // The new owner sees partition 1 unowned too, later, then owned again.
  new_sees_missing = true;
  new_owner->Cycle();
  clock_.Advance(2500);
  new_owner->Cycle();
  new_sees_missing = false;
  for (int i = 0; i < 30; ++i) {  // 6 s: past the book's re-store
    clock_.Advance(200);
    new_owner->Cycle();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(800));
  AlertBook stored(Env::Default(), JoinPath(tmp_.path(), "stored"));
  auto data = store_.Get(GroupDetector::kAlertsKey);
  ASSERT_TRUE(data.ok());
  ASSERT_TRUE(Env::Default()->WriteFileAtomic(JoinPath(tmp_.path(), "stored"), *data).ok());
  ASSERT_TRUE(stored.Load().ok());
  int unowned = 0;
  for (const auto& [key, n] : hook.got()) {
    EXPECT_EQ(n, 1) << key;
    const std::string id = key.substr(0, key.rfind(' '));
    auto a = stored.Get(id);
    ASSERT_TRUE(a.has_value()) << key << ": notified, not in the owner's book";
    if (a->kind != "partition_unowned") continue;
    ++unowned;
    EXPECT_FALSE(a->open) << id;
    EXPECT_EQ(hook.got()[id + " resolved"], 1) << id << ": notified open, never resolved";
  }
  EXPECT_EQ(unowned, 2);  // the new owner's own: open and resolved
}

}  // namespace
}  // namespace viewpipe::sre
