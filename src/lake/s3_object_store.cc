#include "lake/s3_object_store.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "common/crc32c.h"
#include "common/env.h"

namespace viewpipe {
namespace {

std::string DefaultCacheDir() {
  return (std::filesystem::temp_directory_path() /
          ("viewpipe-s3-cache-" + std::to_string(::getpid())))
      .string();
}

}  // namespace

S3ObjectStore::S3ObjectStore(S3Options options)
    : client_(std::move(options)),
      cache_dir_(client_.options().cache_dir.empty() ? DefaultCacheDir()
                                                     : client_.options().cache_dir) {}

Status S3ObjectStore::ParseUri(std::string_view uri, S3Options* options) {
  constexpr std::string_view kScheme = "s3://";
  if (uri.substr(0, kScheme.size()) != kScheme) {
    return Status::InvalidArgument("not an s3:// URI: " + std::string(uri));
  }
  uri.remove_prefix(kScheme.size());
  size_t slash = uri.find('/');
  options->bucket = std::string(uri.substr(0, slash));
  options->prefix = slash == std::string_view::npos ? "" : std::string(uri.substr(slash + 1));
  while (!options->prefix.empty() && options->prefix.back() == '/') options->prefix.pop_back();
  if (options->bucket.empty()) return Status::InvalidArgument("no bucket in " + std::string(uri));
  return Status::OK();
}

std::string S3ObjectStore::Full(const std::string& key) const {
  const std::string& prefix = client_.options().prefix;
  return prefix.empty() ? key : prefix + "/" + key;
}

std::string S3ObjectStore::RootUri() const {
  const auto& o = client_.options();
  return "s3://" + o.bucket + (o.prefix.empty() ? "" : "/" + o.prefix);
}

Status S3ObjectStore::CreateBucket() {
  auto r = client_.Send("PUT", "", "");
  if (!r.ok()) return r.status();
  if (r->status == 200 || r->body.find("BucketAlreadyOwnedByYou") != std::string::npos) {
    return Status::OK();
  }
  return S3Error(*r, "s3 create bucket " + client_.options().bucket);
}

Status S3ObjectStore::Put(const std::string& key, std::string_view data) {
  auto r = client_.Send("PUT", Full(key), "", data);
  if (!r.ok()) return r.status();
  return r->status == 200 ? Status::OK() : S3Error(*r, "s3 put " + key);
}

Status S3ObjectStore::PutIfAbsent(const std::string& key, std::string_view data) {
  // S3's conditional write: 412 when the key exists; 409 when another
  // conditional write of it is in flight (AWS), which also means "not ours".
  // A retried request whose first attempt did create the key gets 412 too:
  // callers compare the stored bytes with theirs when it matters.
  auto r = client_.Send("PUT", Full(key), "", data, {"If-None-Match: *"});
  if (!r.ok()) return r.status();
  if (r->status == 412 || r->status == 409) return AlreadyExists(key);
  return r->status == 200 ? Status::OK() : S3Error(*r, "s3 conditional put " + key);
}

Status S3ObjectStore::PutFile(const std::string& key, const std::string& local_path,
                              uint32_t* crc32c) {
  std::string data;
  auto size = Env::Default()->FileSize(local_path);
  if (!size.ok()) return size.status();
  if (*size > client_.options().multipart_threshold) {
    if (crc32c != nullptr) {
      // One pass for the checksum; the upload reads the file part by part.
      std::ifstream in(local_path, std::ios::binary);
      std::string chunk(1 << 20, '\0');
      uint32_t crc = 0;
      while (in.read(chunk.data(), chunk.size()) || in.gcount() > 0) {
        crc = crc32c::Extend(crc, chunk.data(), static_cast<size_t>(in.gcount()));
      }
      *crc32c = crc;
    }
    return MultipartUpload(key, local_path, *size);
  }
  VP_RETURN_IF_ERROR(Env::Default()->ReadFileToString(local_path, &data));
  if (crc32c != nullptr) *crc32c = crc32c::Value(data.data(), data.size());
  return Put(key, data);
}

Result<std::string> S3ObjectStore::StartUpload(const std::string& object) {
  auto r = client_.Send("POST", object, "uploads=", "");
  if (!r.ok()) return r.status();
  if (r->status != 200) return S3Error(*r, "s3 create multipart upload " + object);
  size_t pos = 0;
  std::string id;
  if (!S3XmlNext(r->body, "UploadId", &pos, &id)) {
    return Status::IOError("s3 create multipart upload " + object + ": no UploadId");
  }
  return id;
}

Status S3ObjectStore::CompleteUpload(const std::string& object, const std::string& upload_id,
                                     const std::vector<std::string>& etags) {
  std::string xml = "<CompleteMultipartUpload>";
  for (size_t i = 0; i < etags.size(); ++i) {
    xml += "<Part><PartNumber>" + std::to_string(i + 1) + "</PartNumber><ETag>" + etags[i] +
           "</ETag></Part>";
  }
  xml += "</CompleteMultipartUpload>";
  auto r = client_.Send("POST", object, "uploadId=" + S3UriEncode(upload_id, false), xml);
  if (!r.ok()) return r.status();
  // S3 may answer 200 and still report an error in the body.
  if (r->status != 200 || r->body.find("<Error>") != std::string::npos) {
    return S3Error(*r, "s3 complete multipart upload " + object);
  }
  return Status::OK();
}

Status S3ObjectStore::MultipartUpload(const std::string& key, const std::string& local_path,
                                      uint64_t size) {
  const std::string object = Full(key);
  auto id = StartUpload(object);
  if (!id.ok()) return id.status();
  const std::string qid = "uploadId=" + S3UriEncode(*id, false);
  std::ifstream in(local_path, std::ios::binary);
  std::vector<std::string> etags;
  std::string part(client_.options().part_bytes, '\0');
  Status st;
  for (uint64_t done = 0; done < size && st.ok();) {
    in.read(part.data(), static_cast<std::streamsize>(part.size()));
    const size_t n = static_cast<size_t>(in.gcount());
    if (n == 0) {
      st = Status::IOError("short read of " + local_path);
      break;
    }
    const std::string q = "partNumber=" + std::to_string(etags.size() + 1) + "&" + qid;
    auto r = client_.Send("PUT", object, q, std::string_view(part.data(), n));
    if (!r.ok()) {
      st = r.status();
    } else if (r->status != 200 || r->headers.count("etag") == 0) {
      st = S3Error(*r, "s3 upload part of " + key);
    } else {
      etags.push_back(r->headers["etag"]);
      done += n;
    }
  }
  if (st.ok()) st = CompleteUpload(object, *id, etags);
  if (!st.ok()) {
    auto abort = client_.Send("DELETE", object, qid);
    if (!abort.ok() || abort->status >= 300) spdlog::warn("s3: abort of upload {} failed", *id);
  }
  return st;
}

Result<std::string> S3ObjectStore::Get(const std::string& key) {
  auto r = client_.Send("GET", Full(key), "");
  if (!r.ok()) return r.status();
  if (r->status != 200) return S3Error(*r, "s3 get " + key);
  return std::move(r->body);
}

Result<uint64_t> S3ObjectStore::Size(const std::string& key) {
  auto r = client_.Send("HEAD", Full(key), "");
  if (!r.ok()) return r.status();
  if (r->status != 200) return S3Error(*r, "s3 head " + key);
  auto it = r->headers.find("content-length");
  if (it == r->headers.end()) return Status::IOError("s3 head " + key + ": no Content-Length");
  return static_cast<uint64_t>(std::stoull(it->second));
}

bool S3ObjectStore::Exists(const std::string& key) { return Size(key).ok(); }

Result<std::vector<ObjectInfo>> S3ObjectStore::List(const std::string& prefix) {
  std::vector<ObjectInfo> out;
  const std::string& root = client_.options().prefix;
  const size_t strip = root.empty() ? 0 : root.size() + 1;
  std::string token;
  for (;;) {
    // Query parameters in name order, as SigV4's canonical request wants.
    std::string q;
    if (!token.empty()) q += "continuation-token=" + S3UriEncode(token, false) + "&";
    q += "list-type=2&prefix=" + S3UriEncode(Full(prefix), false);
    auto r = client_.Send("GET", "", q);
    if (!r.ok()) return r.status();
    if (r->status != 200) return S3Error(*r, "s3 list " + prefix);
    size_t pos = 0;
    std::string contents;
    while (S3XmlNext(r->body, "Contents", &pos, &contents)) {
      size_t p = 0;
      std::string key, size;
      if (!S3XmlNext(contents, "Key", &p, &key)) continue;
      p = 0;
      S3XmlNext(contents, "Size", &p, &size);
      if (key.size() < strip) continue;
      out.push_back({key.substr(strip), size.empty() ? 0 : std::stoull(size)});
    }
    std::string truncated;
    pos = 0;
    S3XmlNext(r->body, "IsTruncated", &pos, &truncated);
    pos = 0;
    if (truncated != "true" || !S3XmlNext(r->body, "NextContinuationToken", &pos, &token)) break;
  }
  std::sort(out.begin(), out.end(),
            [](const ObjectInfo& a, const ObjectInfo& b) { return a.key < b.key; });
  return out;
}

Status S3ObjectStore::Delete(const std::string& key) {
  auto r = client_.Send("DELETE", Full(key), "");
  if (!r.ok()) return r.status();
  return r->status == 204 || r->status == 200 || r->status == 404 ? Status::OK()
                                                                   : S3Error(*r, "s3 delete " + key);
}

Status S3ObjectStore::Rename(const std::string& from, const std::string& to) {
  const std::string source =
      "x-amz-copy-source: /" + client_.options().bucket + "/" + S3UriEncode(Full(from), true);
  auto r = client_.Send("PUT", Full(to), "", "", {source});
  if (!r.ok()) return r.status();
  if (r->status != 200 || r->body.find("<Error>") != std::string::npos) {
    return S3Error(*r, "s3 copy " + from + " -> " + to);
  }
  return Delete(from);
}

std::string S3ObjectStore::ReadUri(const std::string& key) const {
  const std::string path = JoinPath(cache_dir_, key);
  std::lock_guard<std::mutex> lock(cache_mu_);
  if (std::filesystem::exists(path)) return path;
  auto data = Download(key);
  if (!data.ok()) {
    spdlog::error("s3: cannot cache {}: {}", key, data.status().ToString());
    return path;  // DuckDB reports the missing file
  }
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(data->data(), static_cast<std::streamsize>(data->size()));
  }
  std::filesystem::rename(tmp, path);
  return path;
}

Result<std::string> S3ObjectStore::Download(const std::string& key) const {
  auto r = client_.Send("GET", Full(key), "");
  if (!r.ok()) return r.status();
  if (r->status != 200) return S3Error(*r, "s3 get " + key);
  return std::move(r->body);
}

}  // namespace viewpipe
