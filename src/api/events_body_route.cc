#include "api/events_body_route.h"

#include "ingest/collector.h"
#include "ingest/gzip_body.h"

namespace viewpipe {
namespace {

void Fill(IngestResponse r, LookupReply* reply) {
  reply->status = r.status;
  reply->body = std::move(r.body);
  reply->retry_after_s = r.retry_after_s;
}

bool IsGzip(std::string_view encoding) { return encoding == "gzip"; }

bool IsNdjson(std::string_view type) {
  return type.starts_with("application/x-ndjson") || type.starts_with("application/ndjson");
}

std::string OverLimit(size_t limit) {
  return "body over the limit of " + std::to_string(limit) + " bytes after decompression";
}

}  // namespace

bool EventsBodyRoute::Admit(const HttpRequestHead& head, LookupReply* reply) const {
  if (!collector_->Authorized(head.authorization)) {
    Fill(collector_->Refuse(401, "missing or unknown write key"), reply);
    return false;
  }
  const std::string_view encoding = head.content_encoding;
  if (!encoding.empty() && !IsGzip(encoding) && encoding != "identity") {
    Fill(collector_->Refuse(415, "unsupported Content-Encoding: " + std::string(encoding)), reply);
    return false;
  }
  if (head.transfer_encoding) {
    Fill(collector_->Refuse(411, "a Content-Length is required on this port (no chunked bodies)"),
         reply);
    return false;
  }
  const size_t limit = collector_->options().max_body_bytes;
  // Compressed bodies get the main port's headroom for gzip's framing.
  const size_t max_length = IsGzip(encoding) ? limit + 64 * 1024 : limit;
  if (head.content_length > max_length) {
    Fill(collector_->Refuse(413, OverLimit(limit)), reply);
    return false;
  }
  return true;
}

void EventsBodyRoute::Handle(const BodyRequest& request, std::string_view body,
                             LookupReply* reply) const {
  const BodyFormat format =
      IsNdjson(request.content_type) ? BodyFormat::kNdjson : BodyFormat::kJson;
  if (!IsGzip(request.content_encoding)) {
    // The body buffer has kBodyPadding readable bytes past the body: parsed in place.
    static_assert(kBodyPadding == kBodyPaddingBytes);
    return Fill(collector_->Ingest(body, format, BodyPadding::kReadable), reply);
  }
  thread_local std::string inflated;  // per worker, reused
  const size_t limit = collector_->options().max_body_bytes;
  if (inflated.capacity() > 2 * limit) std::string().swap(inflated);
  const Status st = GunzipBounded(body, limit, &inflated);
  if (st.code() == Status::Code::kAborted) {
    return Fill(collector_->Refuse(413, OverLimit(limit)), reply);
  }
  if (!st.ok()) return Fill(collector_->Refuse(400, "could not read the body (bad gzip?)"), reply);
  Fill(collector_->Ingest(inflated, format), reply);
}

}  // namespace viewpipe
