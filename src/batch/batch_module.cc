#include "batch/batch_module.h"

#include <spdlog/spdlog.h>

#include <charconv>
#include <cstdlib>

#include "common/env_knob.h"
#include "batch/batch_routes.h"
#include "warehouse/history_module.h"

namespace viewpipe::batch {
namespace {

std::string EnvString(const char* name, std::string fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::string(v) : fallback;
}

}  // namespace

std::string BatchStateDir(const std::string& data_dir) { return JoinPath(data_dir, "batch"); }
std::string DefaultCatalogPath(const std::string& data_dir) {
  return JoinPath(data_dir, "catalog.csv");
}

RunnerOptions MakeRunnerOptions(const std::string& data_dir, ObjectStore* lake, Clock* clock,
                                const std::string& catalog_path) {
  RunnerOptions o;
  o.store = lake;
  o.env = Env::Default();
  o.clock = clock;
  o.state_dir = BatchStateDir(data_dir);
  o.catalog_path = catalog_path.empty() ? DefaultCatalogPath(data_dir) : catalog_path;
  o.memory_limit = EnvString("VIEWPIPE_BATCH_MEMORY_LIMIT", o.memory_limit);
  Status st = EnvInt("VIEWPIPE_BATCH_ROWS_PER_BUCKET", 1000, &o.rows_per_bucket);
  if (!st.ok()) spdlog::warn("batch: {} (keeping {})", st.ToString(), o.rows_per_bucket);
  return o;
}

BatchModule::BatchModule() = default;
BatchModule::~BatchModule() { Stop(); }

Status BatchModule::Start(const ModuleContext& ctx) {
  SchedulerOptions s;
  int64_t lookback = s.lookback_days;
  VP_RETURN_IF_ERROR(EnvInt("VIEWPIPE_BATCH_LOOKBACK_DAYS", 0, &lookback));
  VP_RETURN_IF_ERROR(EnvInt("VIEWPIPE_BATCH_POLL_MS", 10, &s.poll_ms));
  s.lookback_days = static_cast<int>(lookback);
  auto store = OpenLakeStore(HistoryServeOptions(), ctx.data_dir);
  if (!store.ok()) return store.status();
  store_ = std::move(store).value();
  RunnerOptions ro = MakeRunnerOptions(ctx.data_dir, store_.get(), ctx.clock, ctx.catalog_path);
  runner_ = std::make_unique<BatchRunner>(ro);
  RegisterBatchRoutes(ctx.http, runner_.get(), store_.get());
  if (EnvString("VIEWPIPE_BATCH", "1") == "0") {
    spdlog::info("batch: scheduler off (VIEWPIPE_BATCH=0)");
    return Status::OK();
  }
  scheduler_ = std::make_unique<BatchScheduler>(runner_.get(), store_.get(), ctx.clock, s);
  scheduler_->Start();
  spdlog::info("batch: scheduler on (lake {}, lookback {} days, every {} ms, catalog {})",
               store_->RootUri(), s.lookback_days, s.poll_ms, ro.catalog_path);
  return Status::OK();
}

void BatchModule::Stop() {
  if (scheduler_) scheduler_->Stop();
  scheduler_.reset();
}

}  // namespace viewpipe::batch
