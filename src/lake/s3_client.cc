#include "lake/s3_client.h"

#include <curl/curl.h>
#include <openssl/sha.h>

#include <strings.h>

#include <algorithm>
#include <chrono>
#include <mutex>
#include <thread>

namespace viewpipe {
namespace {

// S3 wants the payload's SHA-256 in x-amz-content-sha256 on every SigV4
// request (libcurl 7.88 hashes the body into the signature but does not send
// the header; a header it is given is signed like the others).
std::string PayloadSha256(std::string_view body) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(body.data()), body.size(), digest);
  static const char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned char c : digest) {
    hex += kHex[c >> 4];
    hex += kHex[c & 15];
  }
  return hex;
}

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

size_t OnBody(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

size_t OnHeader(char* data, size_t size, size_t n, void* out) {
  std::string_view line(data, size * n);
  size_t colon = line.find(':');
  if (colon != std::string_view::npos) {
    std::string name(line.substr(0, colon));
    std::transform(name.begin(), name.end(), name.begin(), ::tolower);
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ')) value.remove_prefix(1);
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' '))
      value.remove_suffix(1);
    (*static_cast<std::map<std::string, std::string>*>(out))[name] = std::string(value);
  }
  return size * n;
}

struct CurlList {
  curl_slist* list = nullptr;
  ~CurlList() { curl_slist_free_all(list); }
  void Add(const std::string& h) { list = curl_slist_append(list, h.c_str()); }
};

std::string XmlDecode(std::string_view s) {
  static const std::pair<std::string_view, char> kEntities[] = {
      {"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    bool matched = false;
    if (s[i] == '&') {
      for (const auto& [entity, c] : kEntities) {
        if (s.substr(i, entity.size()) == entity) {
          out += c;
          i += entity.size();
          matched = true;
          break;
        }
      }
    }
    if (!matched) out += s[i++];
  }
  return out;
}

}  // namespace

S3Client::S3Client(S3Options options) : options_(std::move(options)) { GlobalInit(); }

std::string S3UriEncode(std::string_view s, bool keep_slash) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || (keep_slash && c == '/')) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

bool S3XmlNext(std::string_view xml, std::string_view tag, size_t* pos, std::string* value) {
  const std::string open = "<" + std::string(tag) + ">";
  const std::string close = "</" + std::string(tag) + ">";
  size_t b = xml.find(open, *pos);
  if (b == std::string_view::npos) return false;
  b += open.size();
  size_t e = xml.find(close, b);
  if (e == std::string_view::npos) return false;
  *value = XmlDecode(xml.substr(b, e - b));
  *pos = e + close.size();
  return true;
}

Status S3Error(const S3Response& r, std::string_view what) {
  size_t pos = 0;
  std::string code, message;
  S3XmlNext(r.body, "Code", &pos, &code);
  pos = 0;
  S3XmlNext(r.body, "Message", &pos, &message);
  std::string msg = std::string(what) + ": HTTP " + std::to_string(r.status) +
                    (code.empty() ? "" : " " + code) + (message.empty() ? "" : " (" + message + ")");
  if (r.status == 404) return Status::NotFound(msg);
  if (r.status >= 500 || r.status == 429 || r.status == 0) return Status::Unavailable(msg);
  return Status::IOError(msg);
}

Result<S3Response> S3Client::Send(const std::string& method, const std::string& object,
                                  const std::string& query, std::string_view body,
                                  const std::vector<std::string>& headers) const {
  std::string url = options_.endpoint + "/" + options_.bucket;
  if (!object.empty()) url += "/" + S3UriEncode(object, true);
  if (!query.empty()) url += "?" + query;
  Result<S3Response> r = Status::Unavailable("no attempt");
  for (int attempt = 0; attempt < std::max(1, options_.attempts); ++attempt) {
    if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(100 << attempt));
    r = SendOnce(method, url, body, headers);
    if (r.ok() && r->status < 500 && r->status != 429) break;
  }
  return r;
}

Result<S3Response> S3Client::SendOnce(const std::string& method, const std::string& url,
                                      std::string_view body,
                                      const std::vector<std::string>& headers) const {
  CURL* curl = curl_easy_init();
  if (curl == nullptr) return Status::IOError("curl_easy_init failed");
  S3Response resp;
  CurlList hl;
  for (const auto& h : headers) hl.Add(h);
  if (!options_.session_token.empty()) hl.Add("x-amz-security-token: " + options_.session_token);
  hl.Add("x-amz-content-sha256: " + PayloadSha256(body));
  hl.Add("Expect:");  // no 100-continue round trip
  // Not libcurl's default for a body (a form), which servers may parse.
  bool has_type = false;
  for (const auto& h : headers) has_type |= strncasecmp(h.c_str(), "content-type:", 13) == 0;
  if (!has_type && method != "GET" && method != "HEAD") {
    hl.Add("Content-Type: application/octet-stream");
  }
  const std::string sigv4 = "aws:amz:" + options_.region + ":s3";
  const std::string userpwd = options_.access_key + ":" + options_.secret_key;
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.timeout_ms));
  curl_easy_setopt(curl, CURLOPT_AWS_SIGV4, sigv4.c_str());
  curl_easy_setopt(curl, CURLOPT_USERPWD, userpwd.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hl.list);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &resp.body);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &resp.headers);
  if (method == "HEAD") {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else if (method != "GET") {
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
    // The body goes as POSTFIELDS so that libcurl hashes it into the
    // signature (and it equals x-amz-content-sha256, above).
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.empty() ? "" : body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  }
  CURLcode rc = curl_easy_perform(curl);
  if (rc == CURLE_OK) curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &resp.status);
  curl_easy_cleanup(curl);
  if (rc != CURLE_OK) {
    return Status::Unavailable("s3 " + method + " " + url + ": " + curl_easy_strerror(rc));
  }
  return resp;
}

}  // namespace viewpipe
