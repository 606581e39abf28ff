#pragma once
// HttpSender: posts event batches to the collector the way a player SDK
// does. A pool of sender threads, each with its own keep-alive connection;
// bodies gzip'd (zlib) with `Authorization: Bearer KEY`. A batch that gets
// a 503 (honouring Retry-After), a 5xx, a timeout or a connection error is
// sent again — the same bytes, so the same event_ids, which the
// collector's dedup makes safe — with exponential backoff and jitter until
// it is answered or the sender stops. 4xx answers are final (counted as
// failed). Thread safe.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace httplib {
class Client;
}

namespace viewpipe::sim {

struct SenderOptions {
  std::string url = "http://127.0.0.1:8080";  // collector base URL (or the full /v1/events URL)
  std::string write_key;
  int threads = 4;
  int gzip_level = 1;                  // 0: send uncompressed
  size_t max_queued_events = 200'000;  // Enqueue blocks beyond this
  int64_t connect_timeout_ms = 3000;
  int64_t read_timeout_ms = 15000;
  int64_t backoff_initial_ms = 100;
  int64_t backoff_max_ms = 10000;
};

// One request body. Its bytes never change across retries.
struct OutBatch {
  std::string body;  // uncompressed
  bool ndjson = true;
  uint32_t events = 0;        // events in the body
  uint32_t valid_events = 0;  // of which not intentionally malformed
  bool send_twice = false;    // a simulated duplicate delivery: post again after the answer
};

struct SenderStats {
  uint64_t requests = 0;      // HTTP requests made (retries included)
  uint64_t batches_done = 0;  // batches answered (200 or final 4xx) or given up
  uint64_t events_sent = 0;   // events in batches answered 200 (first delivery)
  uint64_t accepted = 0;
  uint64_t duplicates = 0;
  uint64_t rejected = 0;
  uint64_t retries = 0;  // requests that were retries of a failed attempt
  uint64_t http_503 = 0;
  uint64_t transport_errors = 0;  // connection errors and timeouts
  uint64_t failed_events = 0;     // in batches answered with a final 4xx or given up at stop
  uint64_t resent_events = 0;     // valid events in simulated duplicate deliveries
  uint64_t resent_malformed = 0;  // malformed events in them (rejected once more)
  uint64_t bytes_sent = 0;        // request bodies as sent (compressed)
  uint64_t queued_events = 0;     // waiting in the queue now
};

class HttpSender {
 public:
  explicit HttpSender(SenderOptions options);
  ~HttpSender();  // Stop(0) if still running

  void Start();
  // Queues a batch; blocks while the queue is full. False after Stop began.
  bool Enqueue(OutBatch batch);
  // Sends what is queued, waiting at most drain_ms for it, then stops the
  // threads; batches still unsent (or being retried) then count as failed.
  void Stop(int64_t drain_ms);
  SenderStats stats() const;
  // The last final error (a 4xx body or a transport error), for the log.
  std::string last_error() const;
  // True once the collector answered 401 (a wrong write key: nothing will pass).
  bool unauthorized() const { return unauthorized_.load(); }

 private:
  void Run(int index);
  // Posts one body until it is answered (true) or Stop gives up (false).
  bool Deliver(httplib::Client& client, uint64_t* jitter, const OutBatch& batch,
               const std::string& wire, bool is_resend);
  // Sleeps up to ms; false when Stop gave up meanwhile.
  bool Backoff(int64_t ms);

  SenderOptions options_;
  std::string host_port_;  // scheme://host:port
  std::string path_;       // /v1/events
  std::vector<std::thread> threads_;

  mutable std::mutex mu_;
  std::condition_variable not_empty_, not_full_, progress_;
  std::deque<OutBatch> queue_;
  size_t queued_events_ = 0;
  size_t in_flight_ = 0;
  bool closing_ = false;   // no more Enqueue; threads exit when the queue is empty
  bool aborting_ = false;  // give up retries now
  std::string last_error_;
  std::atomic<bool> unauthorized_{false};

  std::atomic<uint64_t> requests_{0}, batches_done_{0}, events_sent_{0}, accepted_{0},
      duplicates_{0}, rejected_{0}, retries_{0}, http_503_{0}, transport_errors_{0},
      failed_events_{0}, resent_events_{0}, resent_malformed_{0}, bytes_sent_{0};
};

}  // namespace viewpipe::sim
