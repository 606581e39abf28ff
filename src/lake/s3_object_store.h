#pragma once
// S3ObjectStore: an ObjectStore (object_store.h) in an S3-compatible bucket,
// under an optional key prefix (lake.uri = s3://bucket/prefix).
//   - Put and small PutFiles are one PUT; a PutFile larger than
//     multipart_threshold is a multipart upload (parts of part_bytes), which
//     S3 makes visible only when CompleteMultipartUpload succeeds, all or
//     nothing; a failed upload is aborted.
//   - Rename is a server-side copy then a delete (the source may linger
//     after a crash, as object_store.h allows).
//   - List is ListObjectsV2 over all pages, sorted by key.
//   - PutIfAbsent is a PUT with `If-None-Match: *` (412/409: AlreadyExists).
//   - ReadUri downloads the object once into a local cache (cache_dir) and
//     returns that path: the DuckDB build we ship has no httpfs, and lake
//     files are immutable once written. RootUri is s3://bucket/prefix.
// Credentials are given in S3Options (serve reads them from the
// environment: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN).
//
// Thread safety: thread safe.

#include <mutex>
#include <string>

#include "lake/object_store.h"
#include "lake/s3_client.h"

namespace viewpipe {

class S3ObjectStore final : public ObjectStore {
 public:
  explicit S3ObjectStore(S3Options options);

  // Parses "s3://bucket[/prefix]" into options->bucket and ->prefix.
  static Status ParseUri(std::string_view uri, S3Options* options);
  // Creates the bucket (OK when it exists and is ours). For tests and demos.
  Status CreateBucket();

  Status Put(const std::string& key, std::string_view data) override;
  Status PutIfAbsent(const std::string& key, std::string_view data) override;
  Status PutFile(const std::string& key, const std::string& local_path,
                 uint32_t* crc32c) override;
  Result<std::string> Get(const std::string& key) override;
  Result<uint64_t> Size(const std::string& key) override;
  bool Exists(const std::string& key) override;
  Result<std::vector<ObjectInfo>> List(const std::string& prefix) override;
  Status Delete(const std::string& key) override;
  Status Rename(const std::string& from, const std::string& to) override;
  std::string ReadUri(const std::string& key) const override;
  std::string RootUri() const override;

 private:
  std::string Full(const std::string& key) const;
  Status MultipartUpload(const std::string& key, const std::string& local_path, uint64_t size);
  Result<std::string> StartUpload(const std::string& object);
  Status CompleteUpload(const std::string& object, const std::string& upload_id,
                        const std::vector<std::string>& etags);
  Result<std::string> Download(const std::string& key) const;

  S3Client client_;
  std::string cache_dir_;
  mutable std::mutex cache_mu_;
};

}  // namespace viewpipe
