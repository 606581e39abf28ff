#include "api/pipeline_routes.h"

#include <httplib.h>

#include <algorithm>
#include <cstdio>
#include <limits>
#include <map>
#include <optional>
#include <utility>

#include "common/clock.h"
#include "common/json_writer.h"
#include "log/log.h"

namespace viewpipe {
namespace {

// The append time of the record at `offset`, or nullopt when it cannot be
// read (retention removed it meanwhile, or the partition is damaged).
std::optional<int64_t> RecordTimestamp(const Log& log, const GroupLag& lag) {
  auto reader = log.NewReader(lag.topic, lag.partition, lag.committed);
  if (!reader.ok()) return std::nullopt;
  std::vector<ConsumedRecord> records;
  auto n = (*reader)->Read(1, &records);
  if (!n.ok() || records.empty()) return std::nullopt;
  return records.front().timestamp_ms;
}

// Millisecond precision, without trailing zeros ("1.5", "0.123", "0").
void AppendSeconds(std::string* out, double seconds) {
  char buf[32];
  int n = std::snprintf(buf, sizeof(buf), "%.3f", seconds);
  std::string_view s(buf, static_cast<size_t>(n));
  while (s.back() == '0') s.remove_suffix(1);
  if (s.back() == '.') s.remove_suffix(1);
  out->append(s);
}

}  // namespace

std::vector<PipelineGroupLag> PipelineLags(const Log& log, int64_t now_ms) {
  struct Sum {
    int64_t events = 0;
    int64_t oldest_ms = std::numeric_limits<int64_t>::max();
  };
  std::map<std::pair<std::string, std::string>, Sum> sums;
  for (const GroupLag& lag : log.Lags()) {
    Sum& sum = sums[{lag.group, lag.topic}];
    if (lag.end <= lag.committed) continue;
    sum.events += lag.end - lag.committed;
    if (auto ts = RecordTimestamp(log, lag)) sum.oldest_ms = std::min(sum.oldest_ms, *ts);
  }
  std::vector<PipelineGroupLag> out;
  for (const auto& [key, sum] : sums) {
    PipelineGroupLag g{key.first, key.second, sum.events, 0};
    if (sum.events > 0 && sum.oldest_ms != std::numeric_limits<int64_t>::max()) {
      g.lag_seconds = static_cast<double>(std::max<int64_t>(0, now_ms - sum.oldest_ms)) / 1000.0;
    }
    out.push_back(std::move(g));
  }
  return out;
}

std::string PipelineLagsJson(const std::vector<PipelineGroupLag>& lags, int64_t as_of_ms) {
  std::string body = "{\"as_of\":";
  AppendJsonInt(&body, as_of_ms);
  body += ",\"groups\":[";
  for (size_t i = 0; i < lags.size(); ++i) {
    if (i > 0) body += ',';
    body += "{\"group\":";
    AppendJsonString(&body, lags[i].group);
    body += ",\"topic\":";
    AppendJsonString(&body, lags[i].topic);
    body += ",\"lag_events\":";
    AppendJsonInt(&body, lags[i].lag_events);
    body += ",\"lag_seconds\":";
    AppendSeconds(&body, lags[i].lag_seconds);
    body += '}';
  }
  body += "]}";
  return body;
}

void RegisterPipelineRoutes(httplib::Server* server, const Log* log, const Clock* clock) {
  server->Get("/v1/pipeline", [log, clock](const httplib::Request&, httplib::Response& res) {
    const int64_t now = clock->NowMs();
    res.set_header("Cache-Control", "no-store");
    res.set_content(PipelineLagsJson(PipelineLags(*log, now), now), "application/json");
  });
}

}  // namespace viewpipe
