#pragma once
// FeatureRoutes: the online feature lookups (api.md "Recommendations").
//   GET  /v1/features/profiles/<id>[?at=ms]   profile feature vector
//   GET  /v1/features/titles/<id>[?at=ms]     title feature vector
//   POST /v1/features/profiles:batch          {"ids":[...]} -> {"as_of":..,"found":n,
//   POST /v1/features/titles:batch               "profiles"|"titles":[vector|null,...]}
// The vector is the stored state evaluated as of `at` (default: now, wall
// clock) with `updated_at` (wall time of the last update). 404 for an unknown
// id; 400 for a malformed id (empty, over 64 bytes, control characters or
// invalid UTF-8), a bad `at`, a bad batch body or more than max_batch ids.
// With a LookupCache (lookup_cache.h), single profile lookups are answered
// from it when it covers them (the batches always read the store).
// With partitions > 0 (a store shared by a group of processes, docs/scale.md)
// a state is kept as one partial per partition of `viewing`: a lookup reads
// every partial of its ids in one MultiGet and merges them (feature_merge.h).
// Thread safe (handlers run on the HTTP threads).

#include <span>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/metrics.h"
#include "features/feature_store.h"
#include "features/lookup_cache.h"

namespace httplib {
class Server;
}
namespace viewpipe {
class LookupHttpServer;
}

namespace viewpipe::features {

inline constexpr size_t kDefaultMaxBatch = 100;

// Whether id is a well-formed profile/title id (the events.md string rules).
bool ValidFeatureId(std::string_view id);

class FeatureRoutes {
 public:
  // store, clock, metrics (may be null), cache (may be null) outlive the
  // routes. With a cache, every write to store must go through an
  // InvalidatingFeatureStore of that cache.
  FeatureRoutes(FeatureStore* store, Clock* clock, MetricsRegistry* metrics,
                size_t max_batch = kDefaultMaxBatch, LookupCache* cache = nullptr,
                int partitions = 0);
  void Register(httplib::Server* server);
  // The two GET lookups (not the batches) on the lookup port
  // (lookup_http_server.h), same answers as on the main server.
  void RegisterLookups(LookupHttpServer* server);

  // The JSON answer for one id, or a status (NotFound/InvalidArgument).
  Result<std::string> Lookup(FeatureKind kind, std::string_view id, int64_t as_of);
  // The JSON answer of a batch body.
  Result<std::string> LookupBatch(FeatureKind kind, std::string_view body, int64_t as_of);

 private:
  Result<std::string> LookupProfile(std::string_view id, int64_t as_of);
  // The store keys of id's state: the whole one, or one per partition.
  void AddStateKeys(FeatureKind kind, std::string_view id, std::vector<FeatureKey>* keys) const;

  FeatureStore* store_;
  LookupCache* cache_;
  Clock* clock_;
  size_t max_batch_;
  int partitions_;  // 0: whole states
  Counter* lookups_ = nullptr;
};

}  // namespace viewpipe::features
