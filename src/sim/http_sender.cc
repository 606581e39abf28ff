#include "sim/http_sender.h"

#include <httplib.h>
#include <zlib.h>

#include <chrono>
#include <cstdlib>

#include "common/status.h"
#include "sim/random.h"

namespace viewpipe::sim {
namespace {

std::string Gzip(const std::string& in, int level) {
  z_stream zs{};
  VP_CHECK(deflateInit2(&zs, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK,
           "deflateInit2 failed");
  std::string out;
  out.resize(deflateBound(&zs, static_cast<uLong>(in.size())) + 32);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&zs, Z_FINISH);
  VP_CHECK(rc == Z_STREAM_END, "deflate did not finish");
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

// The integer after "key": in a collector answer, or 0.
uint64_t JsonCount(const std::string& body, std::string_view key) {
  std::string needle = "\"" + std::string(key) + "\":";
  size_t at = body.find(needle);
  if (at == std::string::npos) return 0;
  return std::strtoull(body.c_str() + at + needle.size(), nullptr, 10);
}

}  // namespace

HttpSender::HttpSender(SenderOptions options) : options_(std::move(options)) {
  std::string url = options_.url;
  if (url.find("://") == std::string::npos) url = "http://" + url;
  const size_t path_at = url.find('/', url.find("://") + 3);
  host_port_ = url.substr(0, path_at);
  path_ = path_at == std::string::npos ? "" : url.substr(path_at);
  while (!path_.empty() && path_.back() == '/') path_.pop_back();
  if (path_.size() < 10 || path_.compare(path_.size() - 10, 10, "/v1/events") != 0) {
    path_ += "/v1/events";
  }
}

HttpSender::~HttpSender() { Stop(0); }

void HttpSender::Start() {
  for (int i = 0; i < options_.threads; ++i) threads_.emplace_back([this, i] { Run(i); });
}

bool HttpSender::Enqueue(OutBatch batch) {
  std::unique_lock<std::mutex> lock(mu_);
  not_full_.wait(lock, [&] {
    return closing_ || queued_events_ == 0 ||
           queued_events_ + batch.events <= options_.max_queued_events;
  });
  if (closing_) return false;
  queued_events_ += batch.events;
  queue_.push_back(std::move(batch));
  not_empty_.notify_one();
  return true;
}

void HttpSender::Stop(int64_t drain_ms) {
  {
    std::unique_lock<std::mutex> lock(mu_);
    if (threads_.empty()) return;
    closing_ = true;
    not_empty_.notify_all();
    not_full_.notify_all();
    progress_.wait_for(lock, std::chrono::milliseconds(std::max<int64_t>(0, drain_ms)),
                       [&] { return queue_.empty() && in_flight_ == 0; });
    aborting_ = true;
    for (const OutBatch& b : queue_) failed_events_ += b.events;
    queue_.clear();
    queued_events_ = 0;
    progress_.notify_all();
  }
  for (std::thread& t : threads_) t.join();
  threads_.clear();
}

void HttpSender::Run(int index) {
  httplib::Client client(host_port_);
  client.set_keep_alive(true);
  client.set_connection_timeout(options_.connect_timeout_ms / 1000,
                                (options_.connect_timeout_ms % 1000) * 1000);
  client.set_read_timeout(options_.read_timeout_ms / 1000,
                          (options_.read_timeout_ms % 1000) * 1000);
  client.set_write_timeout(options_.read_timeout_ms / 1000,
                           (options_.read_timeout_ms % 1000) * 1000);
  uint64_t jitter =
      Hash64(static_cast<uint64_t>(index),
             static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()));
  for (;;) {
    OutBatch batch;
    {
      std::unique_lock<std::mutex> lock(mu_);
      not_empty_.wait(lock, [&] { return closing_ || !queue_.empty(); });
      if (queue_.empty()) return;  // closing and drained
      batch = std::move(queue_.front());
      queue_.pop_front();
      queued_events_ -= batch.events;
      ++in_flight_;
      not_full_.notify_all();
    }
    const std::string wire =
        options_.gzip_level > 0 ? Gzip(batch.body, options_.gzip_level) : batch.body;
    bool delivered = Deliver(client, &jitter, batch, wire, false);
    if (delivered && batch.send_twice) Deliver(client, &jitter, batch, wire, true);
    ++batches_done_;
    std::lock_guard<std::mutex> lock(mu_);
    --in_flight_;
    progress_.notify_all();
  }
}

bool HttpSender::Deliver(httplib::Client& client, uint64_t* jitter, const OutBatch& batch,
                         const std::string& wire, bool is_resend) {
  httplib::Headers headers = {{"Authorization", "Bearer " + options_.write_key}};
  if (options_.gzip_level > 0) headers.emplace("Content-Encoding", "gzip");
  const char* type = batch.ndjson ? "application/x-ndjson" : "application/json";
  int64_t backoff = options_.backoff_initial_ms;
  for (int attempt = 0;; ++attempt) {
    if (attempt > 0) ++retries_;
    ++requests_;
    bytes_sent_ += wire.size();
    auto res = client.Post(path_, headers, wire, type);
    int64_t floor_ms = 0;  // from Retry-After
    if (!res) {
      ++transport_errors_;
      std::lock_guard<std::mutex> lock(mu_);
      last_error_ = "transport: " + httplib::to_string(res.error());
    } else if (res->status == 200) {
      accepted_ += JsonCount(res->body, "accepted");
      duplicates_ += JsonCount(res->body, "duplicates");
      rejected_ += JsonCount(res->body, "rejected");
      if (is_resend) {
        resent_events_ += batch.valid_events;
        resent_malformed_ += batch.events - batch.valid_events;
      } else {
        events_sent_ += batch.events;
      }
      return true;
    } else if (res->status == 503 || res->status == 429 || res->status >= 500 ||
               res->status == 408) {
      if (res->status == 503) ++http_503_;
      const std::string retry_after = res->get_header_value("Retry-After");
      if (!retry_after.empty()) floor_ms = std::atoll(retry_after.c_str()) * 1000;
    } else {
      failed_events_ += batch.events;
      if (res->status == 401) unauthorized_ = true;
      std::lock_guard<std::mutex> lock(mu_);
      last_error_ = "HTTP " + std::to_string(res->status) + ": " + res->body.substr(0, 300);
      return true;  // final: a retry would get the same answer
    }
    // Full jitter over [backoff/2, backoff], never before Retry-After.
    Rng rng(*jitter = Mix64(*jitter));
    int64_t wait =
        backoff / 2 + static_cast<int64_t>(rng.Below(static_cast<uint64_t>(backoff / 2 + 1)));
    if (floor_ms > 0) wait = std::max(wait, floor_ms + static_cast<int64_t>(rng.Below(250)));
    backoff = std::min(backoff * 2, options_.backoff_max_ms);
    if (!Backoff(wait)) {
      if (!is_resend) failed_events_ += batch.events;
      return false;
    }
  }
}

bool HttpSender::Backoff(int64_t ms) {
  std::unique_lock<std::mutex> lock(mu_);
  return !progress_.wait_for(lock, std::chrono::milliseconds(ms), [&] { return aborting_; });
}

SenderStats HttpSender::stats() const {
  SenderStats s;
  s.requests = requests_;
  s.batches_done = batches_done_;
  s.events_sent = events_sent_;
  s.accepted = accepted_;
  s.duplicates = duplicates_;
  s.rejected = rejected_;
  s.retries = retries_;
  s.http_503 = http_503_;
  s.transport_errors = transport_errors_;
  s.failed_events = failed_events_;
  s.resent_events = resent_events_;
  s.resent_malformed = resent_malformed_;
  s.bytes_sent = bytes_sent_;
  std::lock_guard<std::mutex> lock(mu_);
  s.queued_events = queued_events_;
  return s;
}

std::string HttpSender::last_error() const {
  std::lock_guard<std::mutex> lock(mu_);
  return last_error_;
}

}  // namespace viewpipe::sim
