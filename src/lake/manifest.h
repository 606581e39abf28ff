#pragma once
// The lake's manifests (format in docs/lake.md).
//
//   _lake/root.json                       RootManifest: the commit point.
//     Source offsets, watermark, the current manifest version of every day,
//     publishes in flight and files awaiting deletion. Replaced atomically.
//   events/event_date=D/_manifest-vNNNNNNNN.json   DayManifest, immutable:
//     the committed files of day D (keys, rows, bytes, min/max ts, CRC32C),
//     sealing and late-data report, and a checksum over the file list.
//   events/event_date=D/_SUCCESS          written once day D is sealed
//     (T+1) and rewritten when late data adds a version; names the
//     manifest version that holds the complete day.
//
// Names starting with '_' are ignored by Hive readers (Spark, Athena,
// pyarrow), so the data directories read as a plain Hive dataset.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "lake/lake_time.h"
#include "log/log.h"

namespace viewpipe {

inline constexpr char kRootManifestKey[] = "_lake/root.json";
inline constexpr char kStagingPrefix[] = "_staging/";
inline constexpr char kEventsPrefix[] = "events/";

std::string DayPrefix(EventDate date);  // "events/event_date=2025-01-01/"
// "events/event_date=D/_manifest-vNNNNNNNN[-tag].json": the tag (a commit
// attempt's unique name) keeps concurrent writers' versions apart.
std::string DayManifestKey(EventDate date, int64_t version, const std::string& tag = "");
std::string SuccessKey(EventDate date);
// "events/event_date=D/hour=HH/<name>".
std::string DataFileKey(EventDate date, int hour, const std::string& name);

struct LakeFile {
  std::string key;
  int hour = 0;
  int64_t rows = 0;
  uint64_t bytes = 0;
  int64_t min_ts = 0;
  int64_t max_ts = 0;
  uint32_t crc32c = 0;  // of the file's bytes
};

// Events that reached a day after it was sealed.
struct LateReport {
  int64_t events = 0;
  int64_t max_lateness_ms = 0;  // received_at minus the day's end
  int64_t versions = 0;         // manifest versions added after the seal
};

struct DayManifest {
  EventDate date;
  int64_t version = 0;
  std::string tag;  // of the commit attempt that wrote it ("" in one-writer lakes)
  int schema_version = 0;
  int64_t committed_at_ms = 0;
  bool sealed = false;
  int64_t sealed_at_ms = 0;
  int64_t sealed_version = 0;  // the version that sealed the day first
  LateReport late;
  uint64_t backfill_seed = 0;  // non-zero: written by `viewpipe backfill`
  std::vector<LakeFile> files;  // sorted by key

  int64_t Rows() const;
  uint64_t Bytes() const;
  int64_t MinTs() const;
  int64_t MaxTs() const;
  // CRC32C over the canonical file list (key, rows, bytes, crc32c of each).
  uint32_t Checksum() const;
};

struct DayRef {
  int64_t manifest = 0;  // current DayManifest version
  std::string tag;       // and its tag (DayManifestKey)
  bool sealed = false;
  int64_t rows = 0;
  uint64_t bytes = 0;
  int64_t files = 0;
};

struct Publish {
  std::string from;  // staged key
  std::string to;    // final key
};

struct Tombstone {
  std::string key;
  int64_t delete_after_ms = 0;
};

struct RootManifest {
  int64_t version = 0;  // 0: empty lake, nothing committed yet
  int schema_version = 0;
  int64_t committed_at_ms = 0;
  std::map<PartitionId, Offset> offsets;  // next record of `viewing` per partition
  // Processing time each partition's writer reached (several writers:
  // watermark_ms is their minimum once every partition has one).
  std::map<PartitionId, int64_t> watermarks;
  int64_t watermark_ms = 0;
  std::map<EventDate, DayRef> days;
  std::vector<Publish> pending;  // staged -> final moves of the last commit
  std::vector<EventDate> touched;  // days the last commit changed
  std::vector<Tombstone> tombstones;
};

std::string EncodeDayManifest(const DayManifest& m);
// Corruption on malformed JSON, a wrong format or a checksum mismatch.
Result<DayManifest> DecodeDayManifest(std::string_view json);
std::string EncodeRootManifest(const RootManifest& m);
Result<RootManifest> DecodeRootManifest(std::string_view json);
// The content of _SUCCESS for a sealed day.
std::string EncodeSuccess(const DayManifest& m);

}  // namespace viewpipe
