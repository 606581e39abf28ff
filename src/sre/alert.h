#pragma once
// Alert: one entry of GET /v1/sre/alerts (../shared/spec/api.md). `kind`
// tells QoE anomalies ("qoe") from pipeline health ("silence",
// "consumer_lag", "rejections"). started_at and resolved_at are event
// time for the data-driven kinds, detected_at is always wall time.

#include <cstdint>
#include <optional>
#include <string>

namespace viewpipe::sre {

struct Alert {
  std::string id;  // deterministic: kind:dimension:key:metric:started_at
  bool open = true;
  std::string kind;
  std::string dimension;
  std::string key;
  std::string metric;
  std::string severity;  // "warning" | "critical"
  double value = 0;      // the metric when raised (the worst while open)
  double baseline = 0;
  int64_t started_at = 0;
  int64_t detected_at = 0;
  // The event time the evidence reached when it was raised (the end of the
  // window that completed it; wall time for the pipeline-health kinds):
  // detected_event_time - started_at is the detection delay in data time.
  int64_t detected_event_time = 0;
  std::optional<int64_t> resolved_at;

  static std::string MakeId(const std::string& kind, const std::string& dimension,
                            const std::string& key, const std::string& metric, int64_t started_at);
};

void AppendAlertJson(const Alert& a, std::string* out);

}  // namespace viewpipe::sre
