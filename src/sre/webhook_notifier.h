#pragma once
// WebhookNotifier: POSTs every alert notification (an alert opened, an
// alert resolved) to a configured URL, from its own thread, so a down or
// slow receiver never blocks detection.
//
// What is pending is derived from the AlertBook (every alert's open and,
// once resolved, resolved notification) minus the delivery log
// data_dir/sre/webhook_delivered (one line "<alert id> <open|resolved>" per
// acknowledged notification, appended and fsync'd after the receiver's 2xx).
// So the pending set survives a restart (nothing lost) and acknowledged
// notifications are not sent again (nothing repeated) — except one whose
// 2xx arrived just before a crash, before its line was synced: delivery is
// at least once, and each request carries the header
// X-Viewpipe-Notification: "<id> <state>" for the receiver to de-duplicate.
//
// Several notifiers on one book (the sre group's old and new detector
// across a hand-over) share DeliveryClaims (sre/delivery_claims.h): before
// sending a notification this one does not know as delivered it claims it;
// it sends only what it holds, records what another notifier had
// acknowledged, and passes over an alert while another holds a live claim
// on one of its notifications (its resolved never goes before its open).
// Without claims (the one-process path) nothing changes.
//
// Bounded: at most max_in_flight notifications are held in memory per scan
// (the rest wait in the book); retries back off from 500 ms to 30 s.
// Metrics: viewpipe_sre_webhook_backlog (pending notifications),
// viewpipe_sre_webhook_deliveries_total{outcome}.
//
// Thread safety: Start/Stop from one thread; Wake from any.

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/metrics.h"
#include "common/status.h"
#include "sre/alert_book.h"
#include "sre/delivery_claims.h"

namespace viewpipe::sre {

struct WebhookOptions {
  std::string url;  // http://host[:port]/path; empty: no webhook
  int64_t timeout_ms = 5000;
  int64_t min_backoff_ms = 500;
  int64_t max_backoff_ms = 30000;
  size_t max_in_flight = 1000;
};

class WebhookNotifier {
 public:
  // book, metrics (may be null) and claims (may be null: none) must
  // outlive the notifier.
  WebhookNotifier(WebhookOptions options, const AlertBook* book, std::string delivered_path,
                  MetricsRegistry* metrics, DeliveryClaims* claims = nullptr);
  ~WebhookNotifier();
  // Loads the delivery log and starts the thread. InvalidArgument for a bad URL.
  Status Start();
  void Stop();
  // A new notification may be pending (the AlertBook's listener).
  void Wake();

 private:
  struct Pending {
    std::string key;  // "<id> <state>"
    Alert alert;
  };
  enum class Outcome { kDone, kFailed, kWait };
  void Run();
  std::vector<Pending> Scan() const;
  // Claims (if shared), sends and records one notification.
  Outcome Deliver(const Pending& p);
  // True on a 2xx.
  bool Send(const Pending& p);
  Status MarkDelivered(const std::string& key);
  // Sleeps up to ms unless stopped or woken; false when stopped.
  bool Wait(int64_t ms);

  WebhookOptions options_;
  const AlertBook* book_;
  std::string delivered_path_;
  DeliveryClaims* claims_;
  std::string base_, path_;  // the URL split for httplib
  std::set<std::string> delivered_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool woken_ = false;
  std::thread thread_;
  Gauge* backlog_ = nullptr;
  Counter* ok_ = nullptr;
  Counter* failed_ = nullptr;
};

}  // namespace viewpipe::sre
