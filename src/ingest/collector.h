#pragma once
// Collector: the write path of POST /v1/events, independent of HTTP.
// Parses and validates a body, drops duplicates by event_id, appends valid
// events (to `viewing`, and QoE ones also to `qoe`) and rejected ones (to
// `deadletters`, with reason and raw text) in one durable Append, and only
// then answers 200. Thread safe: many request threads call Ingest at once
// and share the log's fsyncs.

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/metrics.h"
#include "event/parser.h"
#include "ingest/dedup_index.h"
#include "log/log.h"

namespace viewpipe {

struct CollectorOptions {
  std::vector<std::string> write_keys;  // Bearer tokens allowed to post
  ParseLimits limits;
  size_t max_body_bytes = 1 << 20;  // after decompression
  int64_t dedup_window_ms = 3600 * 1000;
  // Memory bound of the dedup index (DedupIndex: max_ids = this / 40 bytes):
  // 0 = a quarter of the machine's memory, < 0 = unbounded.
  int64_t dedup_max_bytes = 0;
  int retry_after_seconds = 1;
};

struct IngestResponse {
  int status = 200;
  std::string body;      // JSON
  int retry_after_s = 0;  // > 0: send Retry-After
};

class Collector {
 public:
  // log, clock and metrics must outlive the collector.
  Collector(Log* log, Clock* clock, MetricsRegistry* metrics, CollectorOptions options);

  // Rebuilds the dedup index from the last dedup window of `viewing` and
  // completes a commit that a crash left in only one of `viewing` and `qoe`.
  // Call once before serving.
  Status Recover();

  // True when header is "Bearer <key>" for a configured write key.
  bool Authorized(std::string_view authorization_header) const;
  // Ingests one request body (already decompressed and within size limits).
  // padding: see ParseBatch (kReadable: parsed in place, no copy).
  IngestResponse Ingest(std::string_view body, BodyFormat format,
                        BodyPadding padding = BodyPadding::kNone);

  // A 413 / 401 / 400 response in the collector's JSON shape, counted.
  IngestResponse Refuse(int status, std::string_view reason);

  // Until SetReady(true) (after Recover), Ingest answers 503.
  void SetReady(bool ready) { ready_.store(ready); }
  bool ready() const { return ready_.load(); }
  const CollectorOptions& options() const { return options_; }
  const DedupIndex& dedup() const { return dedup_; }

 private:
  struct Counters;
  IngestResponse Unavailable(const Status& status);
  // The 200 response: counts and each rejected event's reason.
  static IngestResponse Accepted(const ParsedBatch& batch, size_t accepted, size_t duplicates);
  Status RepairTornCommit(int64_t from_ts);
  void CountRejection(std::string_view reason);

  Log* log_;
  Clock* clock_;
  MetricsRegistry* metrics_;
  CollectorOptions options_;
  DedupIndex dedup_;
  std::atomic<bool> ready_{false};
  Counter* accepted_;
  Counter* duplicates_;
  Counter* rejected_;
  Counter* unavailable_;
};

// A dead letter: one rejected event with its reason, as stored (JSON) in the
// `deadletters` topic: {"received_at":ms,"index":i,"event_id":"..",
// "error":"..","raw":".."}.
std::string DeadLetterJson(const RejectedEvent& rejected, int64_t received_at_ms);

}  // namespace viewpipe
