#pragma once
// GroupDetector: the sre group's one outage detector. The process that owns
// partition 0 of `qoe` runs it; every cycle it gathers every partition's
// 1 s slices (MergedQoe::Gather, over HTTP from the other members), sums
// them and runs the existing OutageDetector, unchanged, on the merged view
// up to the merged watermark (the smallest of the partitions'), exactly as
// SreState::RunTicks does in one process (ticks, then a raise-only partial
// evaluation while live).
//
// Hand-over: the detector's state lives in the shared store, so the next
// owner of partition 0 neither loses nor repeats an alert:
//   sre/detector/state    the next tick and OutageDetector::Save (every
//                         checkpoint interval, and at a clean stop)
//   sre/detector/alerts   the AlertBook's file, stored after every cycle
//                         that changed it, before the webhook is woken
//   sre/detector/webhook_delivered  the webhook's delivery log
//   sre/detector/notifications/     a claim per notification before it is
//                         sent, `delivered` after its 2xx
//                         (store_delivery_claims.h): an old owner still
//                         running after the new one loaded, or one killed
//                         before its cycle stored the delivery log, never
//                         makes the receiver get a notification twice
//   sre/detector/epochs/  one per activation (detector_epoch.h): the fence
// A new detector takes the next epoch, loads the rest and replays the
// ticks since the saved one from the partitions' slices (kept
// slice_keep_ms): alerts it re-detects keep their recorded id and
// detected_at (AlertBook::Raise, Recorded), so they are neither raised nor
// notified again. An old owner still running (partition 0 moved, it has not
// polled yet) finds the newer epoch before or after storing its book and
// stops: the webhook notifies only alerts of a book stored before the next
// owner took its epoch (the published copy), which that owner loaded, so
// every alert notified open is known to the owner that will resolve it.
// The new owner stores its book again 5 s after taking over, replacing a
// late store of the old one.
//
// Never a short count: while a partition has no live owner (or no time
// yet) the detector does not evaluate; after 2 s it opens a pipeline-health
// alert (kind "partition_unowned", key = the partition), resolved when the
// partition is back. Slices a partition already pruned (its owner ran more
// than slice_keep_ms ahead of the detector) are skipped, not evaluated
// short: the ticks jump past them (viewpipe_sre_detector_skipped_ticks_total).
//
// Thread safety: Cycle and Stop from one thread (the module's detector
// thread); Alerts() from any.

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/env.h"
#include "common/metrics.h"
#include "lake/object_store.h"
#include "log/log.h"
#include "sre/alert_book.h"
#include "sre/outage_detector.h"
#include "sre/pipeline_health.h"
#include "sre/webhook_notifier.h"
#include "sregroup/detector_epoch.h"
#include "sregroup/merged_qoe.h"
#include "sregroup/store_delivery_claims.h"

namespace viewpipe::sre {

struct GroupDetectorDeps {
  ObjectStore* store = nullptr;  // the group's shared store
  Env* env = nullptr;
  std::string local_dir;  // this process's scratch (the book's local copy)
  Clock* clock = nullptr;
  MetricsRegistry* metrics = nullptr;  // may be null
  Log* log = nullptr;                  // pipeline health (consumer lag); may be null
  // Every partition's partial for a query (MergedQoe::Gather).
  std::function<Gathered(const PartialQuery&)> gather;
  // True while this process owns partition 0 of `qoe`.
  std::function<bool()> is_detector;
  std::optional<WebhookOptions> webhook;  // VIEWPIPE_SRE_WEBHOOK_URL
  std::string instance = "detector";      // names this process in its webhook claims
  DeliveryClaimOptions claims;
};

class GroupDetector {
 public:
  GroupDetector(const SreOptions& options, GroupDetectorDeps deps);
  ~GroupDetector();

  // One round: takes over or gives up the detector as partition 0 moves,
  // then evaluates the ticks the merged watermark completed.
  void Cycle();
  // A clean stop: stores the state if this is the detector.
  void Stop();
  bool active() const { return detector_ != nullptr; }
  int64_t next_tick() const { return next_tick_; }

  static constexpr const char* kStateKey = "sre/detector/state";
  static constexpr const char* kAlertsKey = "sre/detector/alerts";
  static constexpr const char* kDeliveredKey = "sre/detector/webhook_delivered";

 private:
  Status Activate();
  void Deactivate();
  Status SaveState();
  Status LoadState();
  Status LoadBook(const std::string& dir);
  Status StartWebhook(const std::string& dir);
  // Stores the book if it changed, then publishes it to the webhook; false
  // when fenced (the detector is then deactivated).
  bool PersistBook();
  // Makes data (the stored book) what the webhook notifies from.
  Status PublishBook(const std::string& data);
  // Another process took a newer epoch: stop running the detector for a while.
  bool Fence(const char* when);
  void PersistDelivered();
  // The end of an active cycle: book, state (when due), delivery log;
  // false when fenced (deactivated).
  bool StoreCycle(int64_t now);
  // Opens or resolves the partition_unowned alerts; true when all are owned.
  bool CheckOwners(const Gathered& g, int64_t now);
  void RunTicks(const Gathered& slices, int64_t watermark);

  SreOptions options_;
  GroupDetectorDeps deps_;
  std::unique_ptr<DetectorEpoch> epoch_;
  std::unique_ptr<AlertBook> book_;
  std::unique_ptr<AlertBook> published_;  // the book as last stored unfenced: the webhook's
  std::unique_ptr<OutageDetector> detector_;
  std::unique_ptr<PipelineHealth> health_;
  std::unique_ptr<StoreDeliveryClaims> claims_;  // outlives webhook_, which uses it
  std::unique_ptr<WebhookNotifier> webhook_;
  std::atomic<bool> book_dirty_{false};
  int64_t next_tick_ = OutageDetector::kNever;
  int64_t last_partial_ = OutageDetector::kNever;
  int64_t last_save_ms_ = 0;
  int64_t fenced_until_ms_ = 0;   // wall ms: no new activation before
  int64_t restore_book_at_ = 0;   // wall ms: store the book again (0: done)
  uint64_t delivered_size_ = 0;
  std::map<PartitionId, int64_t> missing_since_;   // wall ms
  std::map<PartitionId, std::string> unowned_ids_;  // open partition_unowned alerts

  Gauge* active_ = nullptr;
  Gauge* unowned_ = nullptr;
  Gauge* tick_ = nullptr;
  Gauge* open_alerts_ = nullptr;
  Counter* skipped_ = nullptr;
};

}  // namespace viewpipe::sre
