#include "warehouse/history_module.h"

#include <spdlog/spdlog.h>

#include "warehouse/history_routes.h"

namespace viewpipe {

std::string HistoryDir(const std::string& data_dir) { return JoinPath(data_dir, "history"); }
std::string LakeDir(const std::string& data_dir) { return JoinPath(HistoryDir(data_dir), "lake"); }
std::string HotDbPath(const std::string& data_dir) {
  return JoinPath(HistoryDir(data_dir), "hot.duckdb");
}
std::string LedgerPath(const std::string& data_dir) {
  return JoinPath(HistoryDir(data_dir), "queries.ndjson");
}

LakeWriterOptions MakeLakeWriterOptions(const HistoryOptions& o, const std::string& data_dir,
                                        ObjectStore* store, Clock* clock,
                                        MetricsRegistry* metrics) {
  LakeWriterOptions w;
  w.store = store;
  w.env = Env::Default();
  w.lock_path = JoinPath(HistoryDir(data_dir), "lake.lock");
  w.clock = clock;
  w.metrics = metrics;
  w.parquet.scratch_dir = JoinPath(HistoryDir(data_dir), "scratch");
  w.parquet.zstd_level = o.lake_zstd_level;
  w.max_buffer_rows = o.lake_max_buffer_rows;
  w.min_files_to_compact = o.lake_min_files_to_compact;
  w.target_file_bytes = o.lake_target_file_bytes;
  w.compact_row_group_rows = o.lake_row_group_rows;
  w.hour_close_ms = o.lake_hour_close_ms;
  w.seal_grace_ms = o.lake_seal_grace_ms;
  return w;
}

HotTierOptions MakeHotTierOptions(const HistoryOptions& o, const std::string& data_dir,
                                  Clock* clock, bool read_only) {
  HotTierOptions h;
  h.db_path = HotDbPath(data_dir);
  h.lake_root = o.lake_read_dir.empty() ? LakeDir(data_dir) : o.lake_read_dir;
  h.hot_days = o.hot_days;
  h.clock = clock;
  h.read_only = read_only;
  h.memory_limit = o.hot_memory_limit;
  return h;
}

Result<std::shared_ptr<ObjectStore>> OpenLakeStore(const HistoryOptions& o,
                                                   const std::string& data_dir) {
  // history/ holds the writer lock and the scratch files for any store.
  VP_RETURN_IF_ERROR(Env::Default()->CreateDirs(HistoryDir(data_dir)));
  if (o.lake_store) return o.lake_store;
  VP_RETURN_IF_ERROR(Env::Default()->CreateDirs(LakeDir(data_dir)));
  return std::shared_ptr<ObjectStore>(
      std::make_shared<LocalObjectStore>(Env::Default(), LakeDir(data_dir)));
}

HistoryModule::~HistoryModule() { Stop(); }

Status HistoryModule::Start(const ModuleContext& ctx) {
  ctx_ = ctx;
  const std::string& dir = ctx.data_dir;
  auto store = OpenLakeStore(options_, dir);
  if (!store.ok()) return store.status();
  store_ = std::move(store).value();
  LakeWriterOptions writer = MakeLakeWriterOptions(options_, dir, store_.get(), ctx.clock,
                                                   ctx.metrics);
  writer.shared = options_.lake_shared;
  writer.source_partitions = ctx.log->Partitions(std::string(kTopicViewing));
  lake_ = std::make_unique<LakeProcessor>(ctx.log, std::string(kTopicViewing), std::move(writer));
  auto hot = HotTier::Open(MakeHotTierOptions(options_, dir, ctx.clock, false));
  if (!hot.ok()) return hot.status();
  hot_ = std::move(hot).value();
  hot_processor_ = std::make_unique<HotProcessor>(ctx.log, std::string(kTopicViewing), hot_.get());
  if (ctx.metrics != nullptr) {
    // The registry outlives the module: the sampler reads through a
    // reference Stop() clears.
    hot_ref_ = std::make_shared<std::atomic<HotTier*>>(hot_.get());
    ctx.metrics->AddSampler(
        "viewpipe_hot_events_total", "Events the hot tier loaded, dropped or evicted, by outcome",
        MetricsRegistry::Type::kCounter, [ref = hot_ref_] {
          HotTier* h = ref->load();
          if (h == nullptr) return std::vector<std::pair<Labels, double>>{};
          HotTier::Stats st = h->stats();
          return std::vector<std::pair<Labels, double>>{
              {{{"outcome", "loaded"}}, static_cast<double>(st.loaded)},
              {{{"outcome", "duplicate"}}, static_cast<double>(st.duplicates)},
              {{{"outcome", "outside_window"}}, static_cast<double>(st.outside_window)},
              {{{"outcome", "evicted"}}, static_cast<double>(st.evicted)}};
        });
  }
  reader_ = std::make_unique<LakeReader>(store_.get());
  ledger_ = std::make_unique<QueryLedger>(Env::Default(), LedgerPath(dir));
  router_ = std::make_unique<QueryRouter>(hot_.get(), reader_.get(), ctx.clock, options_.router,
                                          ledger_.get());
  HistoryRoutes routes;
  routes.router = router_.get();
  routes.cost_json = [this]() -> Result<std::string> {
    auto r = BuildCostReport(reader_.get(), hot_.get(), ledger_.get(), options_.cost,
                             ctx_.clock->NowMs());
    if (!r.ok()) return r.status();
    return r->ToJson();
  };
  routes.lake_json = [this](size_t days) { return LakeStatusJson(reader_.get(), days); };
  RegisterHistoryRoutes(ctx.http, routes);

  lake_path_.group = "lake";
  lake_path_.processor = lake_.get();
  lake_path_.checkpoint = std::chrono::milliseconds(options_.lake_roll_ms);
  hot_path_.group = options_.hot_group;
  hot_path_.processor = hot_processor_.get();
  if (options_.run_lake) VP_RETURN_IF_ERROR(StartPath(&lake_path_));
  if (options_.run_hot) VP_RETURN_IF_ERROR(StartPath(&hot_path_));
  started_ = true;
  supervisor_ = std::thread([this] { Supervise(); });
  spdlog::info("history: lake at {} (roll {} ms{}{}), hot tier {} ({} days{})", store_->RootUri(),
               options_.lake_roll_ms, options_.lake_shared ? ", shared with the group" : "",
               options_.run_lake ? "" : ", not written here", HotDbPath(dir), options_.hot_days,
               options_.run_hot ? "" : ", not loaded here");
  return Status::OK();
}

Status HistoryModule::StartPath(Path* path) {
  ConsumerRunnerOptions o;
  o.group = path->group;
  o.topic = std::string(kTopicViewing);
  o.checkpoint_interval = path->checkpoint;
  path->runner = std::make_unique<ConsumerRunner>(ctx_.log, path->processor, ctx_.metrics, o);
  Status st = path->runner->Start();
  if (!st.ok()) path->runner.reset();  // Supervise retries a path without a runner
  return st;
}

// Restarts a path that stopped on an error, after a pause (the error may be
// a full disk that needs a moment).
void HistoryModule::Supervise() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!cv_.wait_for(lock, std::chrono::seconds(1), [this] { return stopping_; })) {
    for (Path* p : {&lake_path_, &hot_path_}) {
      if (!(p == &lake_path_ ? options_.run_lake : options_.run_hot)) continue;
      Status err = p->runner ? p->runner->error() : Status::Aborted("not running");
      if (err.ok() && p == &lake_path_) err = lake_->idle_error();
      if (err.ok()) continue;
      auto now = std::chrono::steady_clock::now();
      if (p->failed_at == std::chrono::steady_clock::time_point{}) {
        p->failed_at = now;
        spdlog::error("history: path {} failed ({}); restarting in 5 s", p->group, err.ToString());
        continue;
      }
      if (now - p->failed_at < std::chrono::seconds(5)) continue;
      if (p->runner) p->runner->Stop();
      p->runner.reset();
      Status st = StartPath(p);
      p->failed_at = st.ok() ? std::chrono::steady_clock::time_point{} : now;
      if (!st.ok()) spdlog::error("history: restarting {}: {}", p->group, st.ToString());
    }
  }
}

void HistoryModule::Stop() {
  if (!started_) return;
  started_ = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (supervisor_.joinable()) supervisor_.join();
  for (Path* p : {&lake_path_, &hot_path_}) {
    if (p->runner) p->runner->Stop();  // final checkpoint: the lake commits what it buffered
    p->runner.reset();
  }
  if (lake_) lake_->Close();
  if (hot_ref_) hot_ref_->store(nullptr);
  spdlog::info("history: stopped");
}

HistoryOptions& HistoryServeOptions() {
  static HistoryOptions* options = new HistoryOptions();
  return *options;
}

std::unique_ptr<ServerModule> MakeHistoryModule() {
  return std::make_unique<HistoryModule>(HistoryServeOptions());
}

}  // namespace viewpipe
