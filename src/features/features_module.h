#pragma once
// FeaturesModule: the recommendation features inside `viewpipe serve`:
// consumer group "features" on `viewing` (ConsumerRunner + FeatureProcessor)
// writing the RocksDB store under <data_dir>/features/store/ (or the Redis
// store at options.redis_url: redis_feature_store.h), and the
// /v1/features/* routes (feature_routes.h), and the GET lookups also on
// serve's event-loop port (--fast-port) and/or a lookup port of the
// module's own (lookup_http_server.h). A path that fails (a store
// write error, disk full) is restarted after 5 s and resumes from the
// store's offsets.

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "api/server_module.h"

namespace viewpipe {
class ConsumerRunner;
class LookupHttpServer;
}

namespace viewpipe::features {

class FeatureStore;
class FeatureProcessor;
class FeatureRoutes;
class LookupCache;

struct FeaturesOptions {
  std::string store = "rocksdb";  // or "redis" ([features] of --config)
  std::string redis_url = "redis://127.0.0.1:6379/0";
  std::string redis_key_prefix = "viewpipe:features:";
  bool sync_writes = false;  // fsync the store's WAL on every batch
  size_t max_batch = 100;    // ids per batch lookup
  // The lookup port (lookup_http_server.h): -1 off, 0 any free port.
  int lookup_port = -1;
  int lookup_threads = 1;  // one loop: cheapest per lookup (bench/README.md, "Features")
  // The profile lookup cache (lookup_cache.h), RocksDB store only: 0 off.
  size_t lookup_cache_mb = 64;
  // The lookup port's loop threads: EEVDF slice (0: the kernel's) and nice
  // relative to the process (< 0 needs CAP_SYS_NICE); lookup_http_server.h.
  int64_t lookup_slice_us = 100;
  int lookup_nice = 0;
  int lookup_fifo_priority = 0;  // > 0: the loops at SCHED_FIFO (thread_sched.h)
};

// <data_dir>/features, and the default catalog of a data dir.
std::string FeaturesDir(const std::string& data_dir);
std::string DefaultCatalogPath(const std::string& data_dir);

class FeaturesModule final : public ServerModule {
 public:
  explicit FeaturesModule(FeaturesOptions options);
  ~FeaturesModule() override;
  std::string name() const override { return "features"; }
  Status Start(const ModuleContext& ctx) override;
  void Stop() override;

 private:
  Status OpenStore(const std::string& data_dir, MetricsRegistry* metrics);
  Status StartRunner();
  Status StartLookups(const ModuleContext& ctx);
  void Supervise();

  FeaturesOptions options_;
  ModuleContext ctx_;
  std::unique_ptr<FeatureStore> store_;
  // With the lookup cache: the cache and the store everything else uses
  // (writes through to store_, invalidating the cache); else store_ itself.
  std::unique_ptr<LookupCache> cache_;
  std::unique_ptr<FeatureStore> cached_store_;
  FeatureStore* shared_store_ = nullptr;
  std::unique_ptr<FeatureProcessor> processor_;
  std::unique_ptr<FeatureRoutes> routes_;
  std::unique_ptr<LookupHttpServer> lookups_;  // when options_.lookup_port >= 0
  std::unique_ptr<ConsumerRunner> runner_;
  std::thread supervisor_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
};

// The options `viewpipe serve`/`demo` give the module (set by their flags,
// tools/features_commands.cc, before the modules are made).
FeaturesOptions& FeaturesServeOptions();
std::unique_ptr<ServerModule> MakeFeaturesModule();

}  // namespace viewpipe::features
