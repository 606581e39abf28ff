#pragma once
// OutputCommitter: publishes the files of one batch run into the lake's
// ObjectStore so that a crash, a full disk or a failed step anywhere leaves
// either the previous output or the whole new one, never a mix.
//
// Layout of one output partition (prefix "datasets/sessions/event_date=D/"):
//   <prefix>part-00000.parquet   data (deterministic names: a re-run
//                                replaces them with byte-identical files)
//   <prefix>_manifest.json       OutputManifest (below): files, rows, bytes,
//                                CRC32Cs, inputs (lake day manifest versions)
//   <prefix>_SUCCESS             written last: the partition is complete
// Protocol (run_key names the run, e.g. "daily-2025-11-28"):
//   1. stage: every file is uploaded to _batch/staging/<run_key>/<key>;
//   2. commit point: _batch/commits/<run_key>.json (the intent: outputs,
//      their files and manifests) is Put atomically;
//   3. roll forward: per output, delete _SUCCESS, rename the staged files
//      over the final keys, delete files the new output does not have,
//      write _manifest.json, then _SUCCESS; delete the intent.
// Recover() (run before every run of the same run_key) finishes step 3 of a
// committed intent, or deletes the staged files of a run that never reached
// step 2. Callers serialize runs of one run_key (BatchRunner's lock).

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "lake/object_store.h"

namespace viewpipe::batch {

inline constexpr char kBatchStagingPrefix[] = "_batch/staging/";
inline constexpr char kBatchCommitsPrefix[] = "_batch/commits/";

struct OutputFile {
  std::string name;        // "part-00000.parquet"
  std::string local_path;  // the file to upload
  int64_t rows = 0;
};

// What a run writes into one partition, and what its manifest records.
struct Output {
  std::string prefix;     // "datasets/sessions/event_date=2025-11-28/"
  std::string job;        // "daily" | "weekly"
  std::string dataset;    // "sessions"
  std::string partition;  // "event_date=2025-11-28"
  bool provisional = false;  // run with --force on unsealed input
  std::map<std::string, int64_t> inputs;  // e.g. {"2025-11-28": 5}: lake day versions
  std::vector<OutputFile> files;
};

struct ManifestFile {
  std::string name;
  int64_t rows = 0;
  uint64_t bytes = 0;
  uint32_t crc32c = 0;
};

struct OutputManifest {
  std::string job, dataset, partition;
  bool provisional = false;
  std::map<std::string, int64_t> inputs;
  int64_t rows = 0;
  uint64_t bytes = 0;
  uint32_t checksum = 0;  // CRC32C over "name\nrows\nbytes\ncrc32c\n" of each file
  std::vector<ManifestFile> files;
};

std::string EncodeOutputManifest(const OutputManifest& m);
Result<OutputManifest> DecodeOutputManifest(std::string_view json);
// The committed manifest of the partition at prefix (NotFound without _SUCCESS).
Result<OutputManifest> ReadOutputManifest(ObjectStore* store, const std::string& prefix);

class OutputCommitter {
 public:
  // store must outlive the committer.
  OutputCommitter(ObjectStore* store, std::string run_key);

  Status Recover();
  // Stages, commits and publishes outputs (all or nothing); returns their manifests.
  Result<std::vector<OutputManifest>> Commit(const std::vector<Output>& outputs);
  // Tests: called at every step ("stage", "intent", "publish", ...); a
  // non-OK status aborts the commit there, like a crash.
  void SetProbe(std::function<Status(std::string_view)> probe) { probe_ = std::move(probe); }

 private:
  std::string StagedKey(const std::string& key) const;
  std::string IntentKey() const;
  Status RollForward(std::string_view intent);
  Status Publish(const std::string& prefix, const std::vector<std::string>& names,
                 const std::string& manifest);
  Status DeleteStaging();
  Status Probe(std::string_view step) { return probe_ ? probe_(step) : Status::OK(); }

  ObjectStore* store_;
  std::string run_key_;
  std::function<Status(std::string_view)> probe_;
};

}  // namespace viewpipe::batch
