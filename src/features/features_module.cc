#include "features/features_module.h"

#include <spdlog/spdlog.h>

#include "api/lookup_http_server.h"
#include "common/env.h"
#include "features/feature_processor.h"
#include "features/feature_routes.h"
#include "features/invalidating_feature_store.h"
#include "features/lookup_cache.h"
#include "features/redis_feature_store.h"
#include "features/rocksdb_feature_store.h"
#include "stream/consumer_runner.h"

namespace viewpipe::features {

std::string FeaturesDir(const std::string& data_dir) { return JoinPath(data_dir, "features"); }
std::string DefaultCatalogPath(const std::string& data_dir) {
  return JoinPath(data_dir, "catalog.csv");
}

FeaturesModule::FeaturesModule(FeaturesOptions options) : options_(std::move(options)) {}
FeaturesModule::~FeaturesModule() { Stop(); }

Status FeaturesModule::OpenStore(const std::string& data_dir, MetricsRegistry* metrics) {
  if (options_.store == "redis") {
    RedisStoreOptions o;
    o.url = options_.redis_url;
    o.key_prefix = options_.redis_key_prefix;
    auto store = RedisFeatureStore::Open(o);
    if (!store.ok()) return store.status();
    store_ = std::move(store).value();
    shared_store_ = store_.get();  // no lookup cache: other processes may write Redis
    spdlog::info("features: redis store {} (keys {}*)", o.url, o.key_prefix);
    return Status::OK();
  }
  if (options_.store != "rocksdb") {
    return Status::InvalidArgument("features store must be rocksdb or redis, not " +
                                   options_.store);
  }
  const std::string dir = JoinPath(FeaturesDir(data_dir), "store");
  VP_RETURN_IF_ERROR(Env::Default()->CreateDirs(dir));
  RocksDbOptions ro;
  ro.sync = options_.sync_writes;
  auto store = RocksDbFeatureStore::Open(dir, ro);
  if (!store.ok()) return store.status();
  store_ = std::move(store).value();
  shared_store_ = store_.get();
  if (options_.lookup_cache_mb > 0) {
    cache_ = std::make_unique<LookupCache>(options_.lookup_cache_mb << 20, metrics);
    cached_store_ = std::make_unique<InvalidatingFeatureStore>(store_.get(), cache_.get());
    shared_store_ = cached_store_.get();
  }
  spdlog::info("features: rocksdb store {} (lookup cache {} MB)", dir, options_.lookup_cache_mb);
  return Status::OK();
}

Status FeaturesModule::Start(const ModuleContext& ctx) {
  VP_RETURN_IF_ERROR(OpenStore(ctx.data_dir, ctx.metrics));
  const std::string& catalog = ctx.catalog_path;
  // A shared store (Redis) holds one partial state per partition, so that
  // several processes of the group can share the partitions (docs/scale.md).
  const bool partitioned = options_.store == "redis";
  const int partitions = partitioned ? ctx.log->Partitions(kTopicViewing) : 0;
  processor_ = std::make_unique<FeatureProcessor>(shared_store_, catalog, ctx.clock, ctx.metrics,
                                                  partitioned);
  routes_ = std::make_unique<FeatureRoutes>(shared_store_, ctx.clock, ctx.metrics,
                                            options_.max_batch, cache_.get(), partitions);
  routes_->Register(ctx.http);
  VP_RETURN_IF_ERROR(StartLookups(ctx));
  ctx_ = ctx;
  VP_RETURN_IF_ERROR(StartRunner());
  supervisor_ = std::thread([this] { Supervise(); });
  spdlog::info("features: catalog {}", catalog);
  return Status::OK();
}

Status FeaturesModule::StartLookups(const ModuleContext& ctx) {
  if (ctx.fast_http != nullptr) routes_->RegisterLookups(ctx.fast_http);  // started by serve
  if (options_.lookup_port < 0) return Status::OK();
  LookupServerOptions o;
  o.host = ctx.host;
  o.port = options_.lookup_port;
  o.threads = options_.lookup_threads;
  o.loop_sched = {.nice_delta = options_.lookup_nice,
                  .slice_us = options_.lookup_slice_us,
                  .fifo_priority = options_.lookup_fifo_priority};
  o.read_tokens = ctx.read_tokens;
  o.metrics = ctx.metrics;
  o.metrics_port = "lookup";
  lookups_ = std::make_unique<LookupHttpServer>(o);
  routes_->RegisterLookups(lookups_.get());
  VP_RETURN_IF_ERROR(lookups_->Start());
  spdlog::info("features: lookups on http://{}:{} ({} threads)", o.host, lookups_->port(),
               o.threads);
  return Status::OK();
}

Status FeaturesModule::StartRunner() {
  ConsumerRunnerOptions o;
  o.group = "features";
  o.topic = std::string(kTopicViewing);
  o.poll_timeout = std::chrono::milliseconds(50);
  runner_ = std::make_unique<ConsumerRunner>(ctx_.log, processor_.get(), ctx_.metrics, o);
  return runner_->Start();
}

void FeaturesModule::Supervise() {
  std::unique_lock lock(mu_);
  bool restart = false;
  while (!cv_.wait_for(lock, std::chrono::seconds(1), [this] { return stopping_; })) {
    if (!restart) {
      const Status err = runner_->error();
      if (err.ok()) continue;
      spdlog::error("features: path stopped: {}; restarting in 5 s", err.ToString());
      runner_->Stop();
      if (cv_.wait_for(lock, std::chrono::seconds(5), [this] { return stopping_; })) return;
    }
    const Status st = StartRunner();
    restart = !st.ok();
    if (restart) spdlog::error("features: restart failed: {}", st.ToString());
  }
}

void FeaturesModule::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (lookups_) lookups_->Stop();  // before the store goes
  if (supervisor_.joinable()) supervisor_.join();
  if (runner_) runner_->Stop();
  runner_.reset();
}

FeaturesOptions& FeaturesServeOptions() {
  static FeaturesOptions options;
  return options;
}

std::unique_ptr<ServerModule> MakeFeaturesModule() {
  return std::make_unique<FeaturesModule>(FeaturesServeOptions());
}

}  // namespace viewpipe::features
