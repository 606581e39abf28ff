#pragma once
// GET /v1/pipeline: how far behind each consumer group is.
// {"as_of":ms,"groups":[{"group":"ops","topic":"viewing","lag_events":n,
//   "lag_seconds":x}]}
// lag_events: records past the group's committed offsets, summed over the
// topic's partitions. lag_seconds: now minus the append time (received_at)
// of the oldest record the group has not committed, 0 when caught up.

#include <cstdint>
#include <string>
#include <vector>

namespace httplib {
class Server;
}

namespace viewpipe {

class Clock;
class Log;

struct PipelineGroupLag {
  std::string group;
  std::string topic;
  int64_t lag_events = 0;
  double lag_seconds = 0;
};

// One entry per (group, topic), ordered by group then topic; lag_seconds
// measured at now_ms (wall time).
std::vector<PipelineGroupLag> PipelineLags(const Log& log, int64_t now_ms);
std::string PipelineLagsJson(const std::vector<PipelineGroupLag>& lags, int64_t as_of_ms);

// log and clock must outlive server.
void RegisterPipelineRoutes(httplib::Server* server, const Log* log, const Clock* clock);

}  // namespace viewpipe
