#pragma once
// Test-only helpers for the log tests: a fixture with a temp dir, a
// fault-injection Env and a manual clock, and shortcuts to append and read.

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/fault_injection_env.h"
#include "common/scoped_temp_dir.h"
#include "log/file_log.h"

namespace viewpipe {

// A record read back, owning its bytes.
struct StoredRecord {
  Offset offset = 0;
  int64_t timestamp_ms = 0;
  std::string key;
  std::string value;
};

class LogTest : public ::testing::Test {
 protected:
  static constexpr int64_t kT0 = 1700000000000;  // a fixed wall time (ms)

  LogTest() : env_(Env::Default()), clock_(kT0) {
    options_.dir = JoinPath(tmp_.path(), "log");
    options_.env = &env_;
    options_.clock = &clock_;
    options_.topics = {{"t", 1}};
    options_.min_free_bytes = 0;
  }

  std::unique_ptr<FileLog> Open(RecoveryReport* report = nullptr) {
    auto log = FileLog::Open(options_, report);
    EXPECT_TRUE(log.ok()) << log.status().ToString();
    return log.ok() ? std::move(log).value() : nullptr;
  }

  // Appends n records "<prefix>-<i>" to topic/partition; returns the status.
  static Status AppendN(Log* log, int n, const std::string& prefix, std::string_view topic = "t",
                        PartitionId partition = 0, int64_t ts = kT0,
                        std::vector<Offset>* offsets = nullptr) {
    std::vector<std::string> values;
    for (int i = 0; i < n; ++i) values.push_back(prefix + "-" + std::to_string(i));
    std::vector<ProduceRecord> records(n);
    for (int i = 0; i < n; ++i) {
      records[i].topic = topic;
      records[i].key = "k";
      records[i].value = values[i];
      records[i].timestamp_ms = ts + i;
      records[i].partition = partition;
    }
    return log->Append(records, offsets);
  }

  // Every record of topic/partition from offset `from`; fails the test on a
  // read error unless error is given.
  static std::vector<StoredRecord> ReadAll(const FileLog* log, std::string_view topic = "t",
                                           PartitionId p = 0, Offset from = 0,
                                           Status* error = nullptr) {
    std::vector<StoredRecord> out;
    auto reader = log->NewPartitionReader(topic, p, from);
    EXPECT_TRUE(reader.ok());
    std::vector<ConsumedRecord> batch;
    for (;;) {
      batch.clear();
      auto n = (*reader)->Read(1000, &batch);
      if (!n.ok()) {
        if (error != nullptr)
          *error = n.status();
        else
          ADD_FAILURE() << n.status().ToString();
        break;
      }
      if (*n == 0) break;
      for (const auto& r : batch) {
        out.push_back({r.offset, r.timestamp_ms, std::string(r.key), std::string(r.value)});
      }
    }
    return out;
  }

  // Raw file access that bypasses the fault-injection bookkeeping.
  static std::string ReadRaw(const std::string& path) {
    std::string data;
    EXPECT_TRUE(Env::Default()->ReadFileToString(path, &data).ok()) << path;
    return data;
  }
  static void WriteRaw(const std::string& path, std::string_view data) {
    auto f = Env::Default()->NewWritableFile(path);
    ASSERT_TRUE(f.ok());
    ASSERT_TRUE((*f)->Append(data).ok());
    ASSERT_TRUE((*f)->Close().ok());
  }
  uint64_t FileSize(const std::string& path) {
    auto size = Env::Default()->FileSize(path);
    return size.ok() ? size.value() : 0;
  }

  std::string PartitionDir(const std::string& topic = "t", int p = 0) const {
    return JoinPath(JoinPath(options_.dir, topic), std::to_string(p));
  }
  std::string SegmentPath(Offset base, const std::string& ext = ".log") const {
    return JoinPath(PartitionDir(), Segment::FileName(base, ext));
  }

  ScopedTempDir tmp_;
  FaultInjectionEnv env_;
  ManualClock clock_;
  FileLogOptions options_;
};

}  // namespace viewpipe
