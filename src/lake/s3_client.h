#pragma once
// S3Client: signed HTTP requests to an S3-compatible endpoint over libcurl,
// the transport of S3ObjectStore (s3_object_store.h). Requests are signed
// with AWS Signature V4 by libcurl (CURLOPT_AWS_SIGV4, service "s3") and use
// path-style URLs (<endpoint>/<bucket>/<key>), which MinIO, Ceph, moto and
// AWS all accept. Network errors and 5xx answers are retried with backoff.
//
// Thread safety: thread safe (one curl handle per request).

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace viewpipe {

struct S3Options {
  std::string endpoint;  // "http://127.0.0.1:9000" or "https://s3.eu-west-1.amazonaws.com"
  std::string bucket;
  std::string prefix;  // key prefix of the store's root ("" or "lake", no slashes at the ends)
  std::string region = "us-east-1";
  std::string access_key;
  std::string secret_key;
  std::string session_token;  // optional (temporary credentials)
  // Files larger than this go up as a multipart upload of part_bytes parts
  // (S3 wants parts of at least 5 MiB, except the last).
  uint64_t multipart_threshold = 16ull << 20;
  uint64_t part_bytes = 8ull << 20;
  int timeout_ms = 30000;
  int attempts = 4;  // per request, on network errors and 5xx
  // Where ReadUri keeps local copies of objects for DuckDB ("" : a temp dir).
  std::string cache_dir;
};

struct S3Response {
  long status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names
};

class S3Client {
 public:
  explicit S3Client(S3Options options);

  // method on /<bucket>/<object> (object: the full key, already including
  // the prefix; "" for the bucket itself) with query ("a=1&b=2", encoded,
  // sorted by name). A non-OK Status only for transport trouble that
  // outlasted the retries (Unavailable); HTTP errors come back as status.
  Result<S3Response> Send(const std::string& method, const std::string& object,
                          const std::string& query, std::string_view body = {},
                          const std::vector<std::string>& headers = {}) const;
  const S3Options& options() const { return options_; }

 private:
  Result<S3Response> SendOnce(const std::string& method, const std::string& url,
                              std::string_view body, const std::vector<std::string>& headers) const;

  const S3Options options_;
};

// Percent-encodes s as SigV4 wants (unreserved characters kept; '/' kept when
// keep_slash).
std::string S3UriEncode(std::string_view s, bool keep_slash);
// The text of the next <tag>...</tag> at or after *pos (XML entities
// decoded); advances *pos past it. false when there is none.
bool S3XmlNext(std::string_view xml, std::string_view tag, size_t* pos, std::string* value);
// Status for an HTTP answer that is not the success expected.
Status S3Error(const S3Response& r, std::string_view what);

}  // namespace viewpipe
