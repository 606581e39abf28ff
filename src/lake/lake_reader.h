#pragma once
// LakeReader: a consistent, read-only view of the committed lake for
// queries, reports and tools, in this process or another one. It reads the
// root manifest, then the (immutable) day manifests it names, so a reader
// sees whole commits only; files of the newest commit not yet moved to
// their final key are read from their staged key. A reader racing the
// writer's garbage collection retries once with a fresh root.
//
// Thread safe.

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "lake/manifest.h"
#include "lake/object_store.h"

namespace viewpipe {

struct LakeFileRef {
  std::string key;
  std::string uri;  // what DuckDB reads
  EventDate date;
  int hour = 0;
  int64_t rows = 0;
  uint64_t bytes = 0;
};

// Events with min_ms <= ts <= max_ms, in days before before_day (exclusive).
struct LakeRange {
  int64_t min_ms = INT64_MIN;
  int64_t max_ms = INT64_MAX;
  EventDate before_day{INT32_MAX};
};

class LakeReader {
 public:
  // store must outlive the reader.
  explicit LakeReader(ObjectStore* store) : store_(store) {}

  // The current root manifest (an empty one when nothing is committed).
  Result<RootManifest> Root();
  Result<DayManifest> Day(EventDate date, int64_t version, const std::string& tag = "");
  Result<DayManifest> Day(EventDate date, const DayRef& ref) {
    return Day(date, ref.manifest, ref.tag);
  }
  // The committed files that can hold events of range, pruned by day and
  // hour; *root (if given) receives the root manifest used.
  Result<std::vector<LakeFileRef>> Files(const LakeRange& range, RootManifest* root = nullptr);
  ObjectStore* store() { return store_; }

 private:
  Result<std::vector<LakeFileRef>> FilesOnce(const LakeRange& range, RootManifest* root);

  ObjectStore* store_;
  std::mutex mu_;
  std::map<std::pair<EventDate, int64_t>, DayManifest> cache_;
};

// The lake's state as JSON (GET /v1/lake, `viewpipe lake`): root version,
// offsets, watermark, totals, and the newest `recent_days` days with their
// files, rows, bytes, seal and late-data report:
// {"version":n,"offsets":{..},"watermark_ms":..,"days":n,"rows":n,"bytes":n,
//  "recent":[{"event_date":"..","manifest":v,"files":n,"rows":n,"bytes":n,
//             "sealed":b,"late_events":n,"max_lateness_ms":n,"late_versions":n}]}
Result<std::string> LakeStatusJson(LakeReader* reader, size_t recent_days);

}  // namespace viewpipe
