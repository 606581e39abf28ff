#pragma once
// The batch routes of `viewpipe serve`:
//   GET /v1/batch/runs?limit=N      the run ledger, newest first
//     {"runs":[{"id","job","partition","trigger","status","start_ms","end_ms",
//               "rows","bytes","provisional","error"}...]}
//   GET /v1/batch/weekly?week=YYYY-Www&limit=N
//     the weekly title stats of a week (default: the newest committed one),
//     the top N keys by hours watched per dimension (default 100):
//     {"week":"2025-W48","weeks":["2025-W47","2025-W48"],"provisional":false,
//      "inputs":{..},"rows":[{"dimension":"title","key":"t00042",...}...]}
//     404 when the week has no committed output.

#include <optional>
#include <string>

#include "batch/batch_runner.h"

namespace httplib {
class Server;
}

namespace viewpipe::batch {

// The committed weekly outputs, oldest first.
Result<std::vector<IsoWeek>> CommittedWeeks(ObjectStore* store);
// The JSON of GET /v1/batch/weekly; NotFound when there is no such output.
Result<std::string> WeeklyStatsJson(ObjectStore* store, std::optional<IsoWeek> week,
                                    size_t limit);
void RegisterBatchRoutes(httplib::Server* server, BatchRunner* runner, ObjectStore* store);

}  // namespace viewpipe::batch
