#include "sre/webhook_notifier.h"

#include <fcntl.h>
#include <httplib.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>

namespace viewpipe::sre {
namespace {

std::string KeyOf(const Alert& a, bool resolved) {
  return a.id + (resolved ? " resolved" : " open");
}

}  // namespace

WebhookNotifier::WebhookNotifier(WebhookOptions options, const AlertBook* book,
                                 std::string delivered_path, MetricsRegistry* metrics,
                                 DeliveryClaims* claims)
    : options_(std::move(options)),
      book_(book),
      delivered_path_(std::move(delivered_path)),
      claims_(claims) {
  if (metrics == nullptr) return;
  backlog_ = metrics->GetGauge("viewpipe_sre_webhook_backlog",
                               "Alert notifications not yet acknowledged by the webhook");
  const std::string help = "Webhook POSTs of alert notifications, by outcome";
  ok_ = metrics->GetCounter("viewpipe_sre_webhook_deliveries_total", help, {{"outcome", "ok"}});
  failed_ =
      metrics->GetCounter("viewpipe_sre_webhook_deliveries_total", help, {{"outcome", "error"}});
}

WebhookNotifier::~WebhookNotifier() { Stop(); }

Status WebhookNotifier::Start() {
  const std::string& u = options_.url;
  const size_t scheme = u.find("://");
  if (scheme == std::string::npos || (u.compare(0, scheme, "http") != 0 &&
                                      u.compare(0, scheme, "https") != 0)) {
    return Status::InvalidArgument("webhook URL '" + u + "': want http://host[:port]/path");
  }
  const size_t slash = u.find('/', scheme + 3);
  base_ = u.substr(0, slash);
  path_ = slash == std::string::npos ? "/" : u.substr(slash);
  std::ifstream in(delivered_path_);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) delivered_.insert(line);  // a torn last line never matches a key
  }
  thread_ = std::thread([this] { Run(); });
  spdlog::info("sre: webhook {} ({} notifications delivered before)", u, delivered_.size());
  return Status::OK();
}

void WebhookNotifier::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void WebhookNotifier::Wake() {
  {
    std::lock_guard lock(mu_);
    woken_ = true;
  }
  cv_.notify_all();
}

bool WebhookNotifier::Wait(int64_t ms) {
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, std::chrono::milliseconds(ms), [this] { return stop_ || woken_; });
  woken_ = false;
  return !stop_;
}

std::vector<WebhookNotifier::Pending> WebhookNotifier::Scan() const {
  std::vector<Alert> alerts = book_->List(false, 0);
  std::sort(alerts.begin(), alerts.end(), [](const Alert& x, const Alert& y) {
    return x.detected_at != y.detected_at ? x.detected_at < y.detected_at : x.id < y.id;
  });
  std::vector<Pending> out;
  for (const Alert& a : alerts) {
    for (bool resolved : {false, true}) {
      if (resolved && a.open) continue;
      std::string key = KeyOf(a, resolved);
      if (delivered_.count(key) == 0) out.push_back({std::move(key), a});
    }
  }
  return out;
}

bool WebhookNotifier::Send(const Pending& p) {
  httplib::Client client(base_);
  const auto timeout = std::chrono::milliseconds(options_.timeout_ms);
  client.set_connection_timeout(timeout);
  client.set_read_timeout(timeout);
  client.set_write_timeout(timeout);
  std::string body;
  AppendAlertJson(p.alert, &body);
  httplib::Headers headers = {{"X-Viewpipe-Notification", p.key}};
  auto res = client.Post(path_, headers, body, "application/json");
  return res && res->status >= 200 && res->status < 300;
}

Status WebhookNotifier::MarkDelivered(const std::string& key) {
  delivered_.insert(key);
  const int fd = ::open(delivered_path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return Status::IOError("open " + delivered_path_);
  const std::string line = key + "\n";
  const bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) &&
                  ::fdatasync(fd) == 0;
  ::close(fd);
  return ok ? Status::OK() : Status::IOError("write " + delivered_path_);
}

WebhookNotifier::Outcome WebhookNotifier::Deliver(const Pending& p) {
  if (claims_ != nullptr) {
    auto verdict = claims_->Claim(p.key);
    if (!verdict.ok()) {
      spdlog::warn("sre: webhook: claiming '{}': {}", p.key, verdict.status().ToString());
      return Outcome::kFailed;
    }
    if (*verdict == DeliveryClaims::Verdict::kWait) return Outcome::kWait;
    if (*verdict == DeliveryClaims::Verdict::kDelivered) {
      Status st = MarkDelivered(p.key);  // another notifier's 2xx
      if (!st.ok()) spdlog::error("sre: webhook delivery log: {}", st.ToString());
      return Outcome::kDone;
    }
  }
  if (!Send(p)) {
    if (failed_ != nullptr) failed_->Inc();
    return Outcome::kFailed;
  }
  if (ok_ != nullptr) ok_->Inc();
  if (claims_ != nullptr) {
    // First, so the next owner knows at once (the local log is stored with
    // the detector's cycle). If it fails, that stored log is the record.
    Status st = claims_->Delivered(p.key);
    if (!st.ok()) {
      spdlog::error("sre: webhook: recording '{}' as delivered: {}", p.key, st.ToString());
    }
  }
  Status st = MarkDelivered(p.key);
  if (!st.ok()) spdlog::error("sre: webhook delivery log: {}", st.ToString());
  return Outcome::kDone;
}

void WebhookNotifier::Run() {
  int64_t backoff = 0;  // while the receiver fails: 500 ms, doubling to 30 s
  while (Wait(backoff > 0 ? backoff : 200)) {
    std::vector<Pending> pending = Scan();
    if (backlog_ != nullptr) backlog_->Set(static_cast<double>(pending.size()));
    if (pending.size() > options_.max_in_flight) pending.resize(options_.max_in_flight);
    bool failed = false;
    std::set<std::string> held;  // alerts with a notification another notifier holds
    for (const Pending& p : pending) {
      if (held.count(p.alert.id) > 0) continue;  // its resolved never before its open
      const Outcome outcome = Deliver(p);
      if (outcome == Outcome::kWait) {
        held.insert(p.alert.id);  // scanned again in 200 ms
        continue;
      }
      if (outcome == Outcome::kFailed) {
        failed = true;
        break;
      }
      if (backlog_ != nullptr) backlog_->Set(static_cast<double>(Scan().size()));
      std::lock_guard lock(mu_);
      if (stop_) return;
    }
    backoff =
        failed ? std::clamp(backoff * 2, options_.min_backoff_ms, options_.max_backoff_ms) : 0;
    if (failed) spdlog::warn("sre: webhook {} failed; retrying in {} ms", options_.url, backoff);
  }
}

}  // namespace viewpipe::sre
