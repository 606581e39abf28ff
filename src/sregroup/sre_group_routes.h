#pragma once
// The sre group's read API: the routes of sre_routes.h (same parameters,
// same JSON) answered for the whole group from any member, plus the
// members' partials.
//
//   GET /v1/sre/qoe, /v1/sre/qoe/series  merged over every partition
//       (MergedQoe); 503 + Retry-After naming the partitions without a
//       live owner, or before every partition closed a window.
//   GET /v1/sre/alerts  the detector's alert book as last stored in the
//       shared store (group_detector.h: stored after every change), from
//       any member; re-read at most every 500 ms.
//   GET /v1/sre/partials?what=times|slices|range|series&from&to&step_ms
//       [&dim&key]  this process's partitions (sre_partials.h, binary).
//
// Thread safety: handlers run on HTTP threads.

#include <chrono>
#include <memory>
#include <mutex>
#include <string>

#include "common/env.h"
#include "lake/object_store.h"
#include "sre/alert_book.h"
#include "sregroup/merged_qoe.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace viewpipe::sre {

class SreGroupRoutes {
 public:
  // All pointers must outlive the server's handlers.
  SreGroupRoutes(SreShards* shards, MergedQoe* merged, ObjectStore* store, Env* env,
                 std::string scratch_dir, const SreOptions& options);
  void Register(httplib::Server* server);

 private:
  void GetPartials(const httplib::Request& req, httplib::Response& res) const;
  void GetQoe(const httplib::Request& req, httplib::Response& res) const;
  void GetSeries(const httplib::Request& req, httplib::Response& res) const;
  void GetAlerts(const httplib::Request& req, httplib::Response& res);
  // The stored book (cached); nullptr with *why when it cannot be read.
  std::shared_ptr<const AlertBook> StoredBook(std::string* why);

  SreShards* shards_;
  MergedQoe* merged_;
  ObjectStore* store_;
  Env* env_;
  std::string scratch_dir_;
  SreOptions options_;
  std::mutex mu_;
  std::shared_ptr<const AlertBook> book_;
  std::chrono::steady_clock::time_point book_at_{};
};

}  // namespace viewpipe::sre
