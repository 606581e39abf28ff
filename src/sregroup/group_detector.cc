#include "sregroup/group_detector.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "ops/bytes.h"

namespace viewpipe::sre {
namespace {

constexpr std::string_view kStateMagic = "viewpipe-sre-detector-1\n";
constexpr int64_t kUnownedAfterMs = 2000;
constexpr int64_t kFencedPauseMs = 5000;    // after being fenced: let the new owner keep it
constexpr int64_t kRestoreBookAfterMs = 5000;

SliceView View(const std::map<int64_t, GroupCounts>& merged, int64_t from, int64_t to) {
  SliceView out;
  for (auto it = merged.lower_bound(from); it != merged.end() && it->first < to; ++it) {
    out.emplace(it->first, &it->second);
  }
  return out;
}

}  // namespace

GroupDetector::GroupDetector(const SreOptions& options, GroupDetectorDeps deps)
    : options_(options), deps_(std::move(deps)) {
  MetricsRegistry* m = deps_.metrics;
  if (m == nullptr) return;
  active_ = m->GetGauge("viewpipe_sre_detector_active",
                        "1 on the sre group's process that runs the detector (owner of qoe "
                        "partition 0)");
  unowned_ = m->GetGauge("viewpipe_sre_partitions_unowned",
                         "Partitions of qoe the detector found without a live owner (it waits)");
  tick_ = m->GetGauge("viewpipe_sre_detector_next_tick_ms", "The detector's next tick (event time)");
  open_alerts_ = m->GetGauge("viewpipe_sre_open_alerts", "Open SRE alerts");
  skipped_ = m->GetCounter("viewpipe_sre_detector_skipped_ticks_total",
                           "Ticks the group's detector skipped: a partition had already pruned "
                           "their slices");
}

GroupDetector::~GroupDetector() { Deactivate(); }

Status GroupDetector::Activate() {
  const std::string dir = JoinPath(deps_.local_dir, "detector");
  VP_RETURN_IF_ERROR(deps_.env->CreateDirs(dir));
  epoch_ = std::make_unique<DetectorEpoch>(deps_.store, deps_.instance);
  VP_RETURN_IF_ERROR(epoch_->Take());  // before loading: an older owner is fenced from now on
  VP_RETURN_IF_ERROR(LoadBook(dir));
  for (const Alert& a : book_->List(true, 0)) {
    if (a.kind == "partition_unowned") unowned_ids_[std::stoi(a.key)] = a.id;
  }
  detector_ = std::make_unique<OutageDetector>(options_.detector, book_.get(), deps_.clock);
  VP_RETURN_IF_ERROR(LoadState());
  if (deps_.log != nullptr) {
    health_ = std::make_unique<PipelineHealth>(options_.health, deps_.log, deps_.metrics,
                                               book_.get(), deps_.clock);
  }
  if (deps_.webhook) VP_RETURN_IF_ERROR(StartWebhook(dir));
  last_save_ms_ = deps_.clock->NowMs();
  restore_book_at_ = last_save_ms_ + kRestoreBookAfterMs;
  last_partial_ = OutageDetector::kNever;
  spdlog::info("sre: this process owns partition 0 of qoe: it runs the group's detector from "
               "tick {} (epoch {}, {} alerts open in the book, state in {})",
               next_tick_, epoch_->epoch(), book_->open_count(), deps_.store->RootUri());
  if (active_ != nullptr) active_->Set(1);
  return Status::OK();
}

// The stored book into book_ (and published_: it was stored).
Status GroupDetector::LoadBook(const std::string& dir) {
  const std::string path = JoinPath(dir, "alerts");
  auto stored = deps_.store->Get(kAlertsKey);
  if (stored.ok()) {
    VP_RETURN_IF_ERROR(deps_.env->WriteFileAtomic(path, *stored));
  } else if (stored.status().IsNotFound()) {
    if (deps_.env->FileExists(path)) VP_RETURN_IF_ERROR(deps_.env->RemoveFile(path));
  } else {
    return stored.status();
  }
  book_ = std::make_unique<AlertBook>(deps_.env, path);
  if (Status st = book_->Load(); st.IsCorruption()) {
    // A damaged book must not stop detection for good: keep it aside, start
    // an empty one (alerts already raised may then be raised again).
    spdlog::error("sre: the stored alert book is damaged ({}): kept as {}.bad, starting an empty "
                  "one", st.ToString(), kAlertsKey);
    VP_RETURN_IF_ERROR(deps_.store->Put(std::string(kAlertsKey) + ".bad", *stored));
    VP_RETURN_IF_ERROR(deps_.env->RemoveFile(path));
    book_ = std::make_unique<AlertBook>(deps_.env, path);
  } else if (!st.ok()) {
    return st;
  }
  book_->SetListener([this](const Alert&) { book_dirty_ = true; });
  published_ = std::make_unique<AlertBook>(deps_.env, JoinPath(dir, "alerts.published"));
  std::string loaded;
  if (deps_.env->FileExists(path)) VP_RETURN_IF_ERROR(deps_.env->ReadFileToString(path, &loaded));
  return PublishBook(loaded);
}

// The webhook, from the delivery log the previous detector stored.
Status GroupDetector::StartWebhook(const std::string& dir) {
  const std::string delivered = JoinPath(dir, "webhook_delivered");
  auto d = deps_.store->Get(kDeliveredKey);
  if (d.ok()) {
    VP_RETURN_IF_ERROR(deps_.env->WriteFileAtomic(delivered, *d));
    delivered_size_ = d->size();
  } else if (d.status().IsNotFound()) {
    if (deps_.env->FileExists(delivered)) VP_RETURN_IF_ERROR(deps_.env->RemoveFile(delivered));
    delivered_size_ = 0;
  } else {
    return d.status();
  }
  claims_ = std::make_unique<StoreDeliveryClaims>(deps_.store, deps_.clock, deps_.instance,
                                                  deps_.claims);
  webhook_ = std::make_unique<WebhookNotifier>(*deps_.webhook, published_.get(), delivered,
                                               deps_.metrics, claims_.get());
  return webhook_->Start();
}

Status GroupDetector::LoadState() {
  next_tick_ = OutageDetector::kNever;
  auto data = deps_.store->Get(kStateKey);
  if (data.status().IsNotFound()) return Status::OK();
  if (!data.ok()) return data.status();
  std::string_view in = *data;
  int64_t next = 0;
  if (in.substr(0, kStateMagic.size()) == kStateMagic) {
    in.remove_prefix(kStateMagic.size());
    if (ops::bytes::GetSigned(&in, &next) && detector_->Load(&in) && in.empty()) {
      next_tick_ = next;
      return Status::OK();
    }
  }
  spdlog::warn("sre: the detector state {} is damaged or of another format: the detector "
               "starts afresh (baselines relearned)", kStateKey);
  detector_ = std::make_unique<OutageDetector>(options_.detector, book_.get(), deps_.clock);
  return Status::OK();
}

Status GroupDetector::SaveState() {
  std::string out(kStateMagic);
  ops::bytes::PutSigned(&out, next_tick_);
  detector_->Save(&out);
  return deps_.store->Put(kStateKey, out);
}

bool GroupDetector::PersistBook() {
  const std::string path = JoinPath(JoinPath(deps_.local_dir, "detector"), "alerts");
  if (!book_dirty_.exchange(false) || !deps_.env->FileExists(path)) return true;  // none yet
  std::string data;
  Status st = deps_.env->ReadFileToString(path, &data);
  if (st.ok() && epoch_->Fenced()) return Fence("before storing the alert book");
  if (st.ok()) st = deps_.store->Put(kAlertsKey, data);
  if (!st.ok()) {
    book_dirty_ = true;
    spdlog::warn("sre: storing the alert book: {}", st.ToString());
    return true;
  }
  // Only once no newer epoch exists after the store is the next owner sure
  // to load this book: then its alerts may be notified.
  if (epoch_->Fenced()) return Fence("after storing the alert book (its new alerts not notified)");
  st = PublishBook(data);
  if (!st.ok()) {
    book_dirty_ = true;
    spdlog::warn("sre: publishing the alert book to the webhook: {}", st.ToString());
  }
  return true;
}

Status GroupDetector::PublishBook(const std::string& data) {
  const std::string path = JoinPath(JoinPath(deps_.local_dir, "detector"), "alerts.published");
  if (data.empty()) {  // no book stored yet (only at activation: published_ is new, empty)
    return deps_.env->FileExists(path) ? deps_.env->RemoveFile(path) : Status::OK();
  }
  VP_RETURN_IF_ERROR(deps_.env->WriteFileAtomic(path, data));
  VP_RETURN_IF_ERROR(published_->Load());
  if (webhook_) webhook_->Wake();
  return Status::OK();
}

bool GroupDetector::Fence(const char* when) {
  spdlog::warn("sre: another process took the detector over (an epoch after {}), found {}: this "
               "one stops running it", epoch_->epoch(), when);
  fenced_until_ms_ = deps_.clock->NowMs() + kFencedPauseMs;
  Deactivate();
  return false;
}

void GroupDetector::PersistDelivered() {
  if (!webhook_) return;
  const std::string path = JoinPath(JoinPath(deps_.local_dir, "detector"), "webhook_delivered");
  auto size = deps_.env->FileSize(path);
  if (!size.ok() || *size == delivered_size_) return;
  if (deps_.store->PutFile(kDeliveredKey, path, nullptr).ok()) delivered_size_ = *size;
}

void GroupDetector::Deactivate() {
  if (webhook_) webhook_->Stop();
  webhook_.reset();
  claims_.reset();
  health_.reset();
  detector_.reset();
  published_.reset();
  book_.reset();
  epoch_.reset();
  unowned_ids_.clear();
  missing_since_.clear();
  if (active_ != nullptr) active_->Set(0);
}

void GroupDetector::Stop() {
  if (!active() || !PersistBook()) return;
  if (epoch_->Fenced()) {
    Fence("before storing the detector state");  // deactivated
    return;
  }
  Status st = SaveState();
  if (!st.ok()) spdlog::warn("sre: storing the detector state: {}", st.ToString());
  PersistDelivered();
  Deactivate();
}

bool GroupDetector::CheckOwners(const Gathered& g, int64_t now) {
  for (PartitionId p : g.missing) {
    const int64_t since = missing_since_.emplace(p, now).first->second;
    if (now - since < kUnownedAfterMs || unowned_ids_.count(p) > 0) continue;
    Alert a;
    a.kind = "partition_unowned";
    a.dimension = "partition";
    a.key = std::to_string(p);
    a.metric = "owner";
    a.severity = "warning";
    a.value = static_cast<double>(now - since) / 1000;
    a.started_at = since;
    a.detected_at = now;
    a.detected_event_time = now;
    a.id = Alert::MakeId(a.kind, a.dimension, a.key, a.metric, a.started_at);
    unowned_ids_[p] = a.id;
    if (book_->Raise(a)) {
      spdlog::warn("sre: ALERT partition {} of qoe has no live owner since {}: the detector "
                   "waits (counts would be short)", p, since);
    }
  }
  for (auto it = unowned_ids_.begin(); it != unowned_ids_.end();) {
    if (std::find(g.missing.begin(), g.missing.end(), it->first) != g.missing.end()) {
      ++it;
      continue;
    }
    book_->Resolve(it->second, now);
    it = unowned_ids_.erase(it);
  }
  for (auto it = missing_since_.begin(); it != missing_since_.end();) {
    const bool still = std::find(g.missing.begin(), g.missing.end(), it->first) != g.missing.end();
    it = still ? std::next(it) : missing_since_.erase(it);
  }
  if (unowned_ != nullptr) unowned_->Set(static_cast<double>(g.missing.size()));
  return g.missing.empty();
}

void GroupDetector::RunTicks(const Gathered& slices, int64_t watermark) {
  const DetectorOptions& d = options_.detector;
  int64_t covered_from = INT64_MIN;
  for (const PartitionPartial& p : slices.parts) {
    if (p.slices_from != PartitionPartial::kNone) covered_from = std::max(covered_from, p.slices_from);
  }
  const std::map<int64_t, GroupCounts> merged = SumCounts(slices.parts);
  if (next_tick_ == OutageDetector::kNever) {
    if (merged.empty()) return;
    next_tick_ = std::max(merged.begin()->first, covered_from) + d.tick_ms;
  }
  if (covered_from != INT64_MIN && next_tick_ - d.span_ms < covered_from) {
    const int64_t to = covered_from + d.span_ms;
    spdlog::warn("sre: detector: slices before {} were pruned by their partition: ticks {}..{} "
                 "skipped", covered_from, next_tick_, to);
    if (skipped_ != nullptr) skipped_->Inc(static_cast<uint64_t>((to - next_tick_) / d.tick_ms));
    next_tick_ = to;
  }
  while (next_tick_ + d.tick_lateness_ms <= watermark) {
    detector_->OnTick(next_tick_, View(merged, next_tick_ - d.span_ms, next_tick_));
    next_tick_ += d.tick_ms;
  }
  if (d.partial_ms > 0 && watermark >= last_partial_ + d.partial_ms &&
      deps_.clock->NowMs() - watermark <= d.partial_within_ms) {
    last_partial_ = watermark;
    detector_->OnPartialTick(watermark, View(merged, watermark - d.span_ms, watermark));
  }
}

void GroupDetector::Cycle() {
  if (!deps_.is_detector()) {
    if (active()) {
      spdlog::info("sre: partition 0 of qoe moved: this process no longer runs the detector");
      Deactivate();
    }
    return;
  }
  if (!active()) {
    if (deps_.clock->NowMs() < fenced_until_ms_) return;  // just fenced: the new owner keeps it
    Status st = Activate();
    if (!st.ok()) {
      spdlog::warn("sre: taking over the detector: {} (again next cycle)", st.ToString());
      Deactivate();
      return;
    }
  }
  const int64_t now = deps_.clock->NowMs();
  Gathered times = deps_.gather(PartialQuery{});
  bool ready = CheckOwners(times, now);
  int64_t watermark = INT64_MAX;
  for (const PartitionPartial& p : times.parts) {
    if (p.watermark == PartitionPartial::kNone) ready = false;  // no time yet: wait
    watermark = std::min(watermark, p.watermark);
  }
  if (ready) {
    PartialQuery q;
    q.what = PartialQuery::What::kSlices;
    q.from = next_tick_ == OutageDetector::kNever ? INT64_MIN : next_tick_ - options_.detector.span_ms;
    q.to = INT64_MAX;
    Gathered slices = deps_.gather(q);
    if (CheckOwners(slices, now)) RunTicks(slices, watermark);
  }
  if (health_) health_->Check();
  if (!deps_.is_detector()) {  // partition 0 moved during the cycle: its next owner stores
    Deactivate();
    return;
  }
  if (!StoreCycle(now)) return;
  if (tick_ != nullptr) tick_->Set(static_cast<double>(next_tick_));
  if (open_alerts_ != nullptr) open_alerts_->Set(static_cast<double>(book_->open_count()));
}

bool GroupDetector::StoreCycle(int64_t now) {
  if (restore_book_at_ != 0 && now >= restore_book_at_) {
    restore_book_at_ = 0;
    book_dirty_ = true;  // replaces a late store of the previous owner
  }
  if (!PersistBook()) return false;
  if (now - last_save_ms_ >= options_.checkpoint_interval_ms) {
    if (epoch_->Fenced()) return Fence("before storing the detector state");
    Status st = SaveState();
    if (!st.ok()) spdlog::warn("sre: storing the detector state: {}", st.ToString());
    last_save_ms_ = now;
  }
  PersistDelivered();
  return true;
}

}  // namespace viewpipe::sre
