#include "ingest/collector_routes.h"

#include <httplib.h>

#include <cstdlib>

#include "ingest/collector.h"

namespace viewpipe {
namespace {

void Send(httplib::Response& res, const IngestResponse& r) {
  res.status = r.status;
  if (r.retry_after_s > 0) res.set_header("Retry-After", std::to_string(r.retry_after_s));
  res.set_content(r.body, "application/json");
}

// Refusals sent before the body was read close the connection, since the
// unread body would otherwise be taken for the next request.
void SendAndClose(httplib::Response& res, const IngestResponse& r) {
  res.set_header("Connection", "close");
  Send(res, r);
}

bool IsNdjson(const httplib::Request& req) {
  std::string type = req.get_header_value("Content-Type");
  return type.rfind("application/x-ndjson", 0) == 0 || type.rfind("application/ndjson", 0) == 0;
}

void HandlePost(Collector* collector, const httplib::Request& req, httplib::Response& res,
                const httplib::ContentReader& content_reader) {
  if (!collector->Authorized(req.get_header_value("Authorization"))) {
    return SendAndClose(res, collector->Refuse(401, "missing or unknown write key"));
  }
  std::string encoding = req.get_header_value("Content-Encoding");
  if (!encoding.empty() && encoding != "gzip" && encoding != "identity") {
    return SendAndClose(res, collector->Refuse(415, "unsupported Content-Encoding: " + encoding));
  }
  const size_t limit = collector->options().max_body_bytes;
  // One body buffer per HTTP thread, reused: no allocation (nor fresh pages
  // to fault in) per request. Room for the typical body (gzip shrinks JSON
  // about 4x) plus simdjson's padding.
  thread_local std::string body;
  body.clear();
  if (body.capacity() > 2 * (limit + 64)) std::string().swap(body);
  size_t length = std::strtoull(req.get_header_value("Content-Length").c_str(), nullptr, 10);
  body.reserve(std::min<size_t>(encoding == "gzip" ? length * 4 + 64 : length + 64, limit + 64));
  bool too_big = false;
  bool read_ok = content_reader([&](const char* data, size_t n) {
    if (body.size() + n > limit) {
      too_big = true;
      return false;
    }
    body.append(data, n);
    return true;
  });
  if (too_big) {
    return SendAndClose(res, collector->Refuse(413, "body over the limit of " +
                                                        std::to_string(limit) +
                                                        " bytes after decompression"));
  }
  if (!read_ok) {
    return SendAndClose(res, collector->Refuse(400, "could not read the body (bad gzip?)"));
  }
  Send(res, collector->Ingest(body, IsNdjson(req) ? BodyFormat::kNdjson : BodyFormat::kJson));
}

}  // namespace

void RegisterCollectorRoutes(httplib::Server* server, Collector* collector) {
  // Compressed bodies are bounded too, with headroom for gzip's framing.
  server->set_payload_max_length(collector->options().max_body_bytes + 64 * 1024);
  server->Post("/v1/events", [collector](const httplib::Request& req, httplib::Response& res,
                                         const httplib::ContentReader& reader) {
    HandlePost(collector, req, res, reader);
  });
}

}  // namespace viewpipe
