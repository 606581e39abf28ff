#include "sre/pipeline_health.h"

#include <spdlog/spdlog.h>

namespace viewpipe::sre {
namespace {

constexpr int64_t kCheckMs = 1000;

}  // namespace

PipelineHealth::PipelineHealth(const HealthOptions& options, Log* log, MetricsRegistry* metrics,
                               AlertBook* book, Clock* clock)
    : options_(options), log_(log), book_(book), clock_(clock) {
  if (metrics == nullptr) return;
  // The collector's counters (ingest/collector.cc), shared by name.
  const std::string help = "Events posted to the collector, by outcome";
  accepted_ = metrics->GetCounter("viewpipe_events_total", help, {{"outcome", "accepted"}});
  duplicates_ = metrics->GetCounter("viewpipe_events_total", help, {{"outcome", "duplicate"}});
  rejected_ = metrics->GetCounter("viewpipe_events_total", help, {{"outcome", "rejected"}});
}

void PipelineHealth::Check() {
  const int64_t now = clock_->NowMs();
  if (now - last_check_ms_ < kCheckMs) return;
  last_check_ms_ = now;
  CheckLag(now);
  if (rejected_ != nullptr) CheckRejections(now);
}

void PipelineHealth::Open(const std::string& kind, const std::string& dimension,
                          const std::string& key, const std::string& metric, double value,
                          double threshold, int64_t now) {
  Alert a;
  a.kind = kind;
  a.dimension = dimension;
  a.key = key;
  a.metric = metric;
  a.severity = "warning";
  a.value = value;
  a.baseline = threshold;
  a.started_at = now;
  a.detected_at = now;
  a.detected_event_time = now;
  a.id = Alert::MakeId(a.kind, a.dimension, a.key, a.metric, a.started_at);
  open_[kind + "/" + key] = a.id;
  if (book_->Raise(a)) {
    spdlog::warn("sre: ALERT {} {}={} {}={}", kind, dimension, key, metric, value);
  }
}

void PipelineHealth::CheckLag(int64_t now) {
  std::map<std::string, int64_t> lag;
  for (const GroupLag& g : log_->Lags()) lag[g.group + "/" + g.topic] += g.end - g.committed;
  const auto max_lag = static_cast<double>(options_.max_lag_records);
  for (const auto& [key, n] : lag) {
    auto it = open_.find("consumer_lag/" + key);
    const auto v = static_cast<double>(n);
    if (it == open_.end()) {
      if (v > max_lag) Open("consumer_lag", "consumer_group", key, "lag_records", v, max_lag, now);
      continue;
    }
    book_->Update(it->second, v);
    if (v <= max_lag / 2) {
      book_->Resolve(it->second, now);
      open_.erase(it);
    }
  }
}

void PipelineHealth::CheckRejections(int64_t now) {
  const uint64_t rejected = rejected_->Value();
  const uint64_t posted = rejected + accepted_->Value() + duplicates_->Value();
  samples_.push_back({now, posted, rejected});
  while (samples_.size() > 1 && samples_.front().at < now - options_.rejection_window_ms) {
    samples_.pop_front();
  }
  const Sample& old = samples_.front();
  const double r = static_cast<double>(rejected - old.rejected);
  const double p = static_cast<double>(posted - old.posted);
  const double ratio = p > 0 ? r / p : 0;
  auto it = open_.find("rejections/collector");
  if (it == open_.end()) {
    if (r >= static_cast<double>(options_.min_rejections) && ratio > options_.rejection_ratio) {
      Open("rejections", "collector", "collector", "rejected_ratio", ratio,
           options_.rejection_ratio, now);
    }
    return;
  }
  book_->Update(it->second, ratio);
  if (ratio <= options_.rejection_ratio / 2) {
    book_->Resolve(it->second, now);
    open_.erase(it);
  }
}

}  // namespace viewpipe::sre
