#pragma once
// HistoryModule: the history of `viewpipe serve` — the lake path (consumer
// group "lake"), the hot tier (group "hot"), the query router and their
// routes (history_routes.h). State under <data_dir>/history/:
//   lake/          the Parquet lake (events/..., _lake/root.json); its
//                  writer lock is history/lake.lock
//   hot.duckdb     the hot tier
//   scratch/       the lake writer's temporary Parquet files
//   queries.ndjson the query ledger (cost report)
// A path that fails (disk full, a DuckDB error) is restarted after a
// pause; it resumes from its own committed state, so nothing is lost or
// counted twice.

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "api/server_module.h"
#include "lake/lake_processor.h"
#include "lake/local_object_store.h"
#include "stream/consumer_runner.h"
#include "warehouse/cost_report.h"
#include "warehouse/hot_processor.h"
#include "warehouse/query_router.h"

namespace viewpipe {

struct HistoryOptions {
  // Lake.
  int64_t lake_roll_ms = 60000;  // a buffered event is committed within this
  int64_t lake_max_buffer_rows = 1000000;
  int64_t lake_hour_close_ms = 10 * 60 * 1000;
  int64_t lake_seal_grace_ms = 2 * 3600 * 1000;
  int lake_min_files_to_compact = 2;
  uint64_t lake_target_file_bytes = 256ull << 20;
  int64_t lake_row_group_rows = 1000000;
  int lake_zstd_level = 9;
  // Hot tier.
  int hot_days = 7;
  std::string hot_memory_limit = "1GB";
  // Queries and costs.
  RouterOptions router;
  CostOptions cost;
  // The lake's store when it is not <data_dir>/history/lake (serve --config
  // with lake.uri = s3://..., docs/scale.md), and the local directory its
  // ReadUri files are in (the only one the hot tier's queries may read).
  std::shared_ptr<ObjectStore> lake_store;
  std::string lake_read_dir;
  // Several processes share the lake path's partitions (Kafka log,
  // docs/scale.md): the lake writer takes no lock and commits only the
  // partitions the group gives it.
  bool lake_shared = false;
  // Which of the two consumer paths this process runs (consume --path
  // lake|hot runs one; the routes are served either way).
  bool run_lake = true;
  bool run_hot = true;
  // The hot tier's consumer group: "hot", or "hot-<replica>" for one of
  // several replicas that each load every partition (consume --path hot
  // --replica NAME, docs/scale.md).
  std::string hot_group = "hot";
};

// The paths of a data dir's history.
std::string HistoryDir(const std::string& data_dir);
std::string LakeDir(const std::string& data_dir);
std::string HotDbPath(const std::string& data_dir);
std::string LedgerPath(const std::string& data_dir);
// The lake of data_dir: o.lake_store (lake.uri = s3://..., set by --config)
// or the local directory LakeDir(data_dir); either way HistoryDir(data_dir)
// (the writer lock, scratch files) and a local lake are created if missing. Every
// reader and writer of a lake (serve's paths, batch, backfill, query, lake,
// experiments) opens it here, so a command given --config sees the same
// lake as `serve --config`.
Result<std::shared_ptr<ObjectStore>> OpenLakeStore(const HistoryOptions& o,
                                                   const std::string& data_dir);
LakeWriterOptions MakeLakeWriterOptions(const HistoryOptions& o, const std::string& data_dir,
                                        ObjectStore* store, Clock* clock,
                                        MetricsRegistry* metrics);
HotTierOptions MakeHotTierOptions(const HistoryOptions& o, const std::string& data_dir,
                                  Clock* clock, bool read_only);

class HistoryModule final : public ServerModule {
 public:
  explicit HistoryModule(HistoryOptions options) : options_(std::move(options)) {}
  ~HistoryModule() override;

  std::string name() const override { return "history"; }
  Status Start(const ModuleContext& ctx) override;
  void Stop() override;

  // The hot tier and the lake reader (null before Start or with the
  // history off), for modules that query them (experiments); they live
  // until the module is destroyed.
  HotTier* hot_tier() const { return hot_.get(); }
  LakeReader* lake_reader() const { return reader_.get(); }

 private:
  struct Path {
    std::string group;
    Processor* processor = nullptr;
    std::chrono::milliseconds checkpoint{1000};
    std::unique_ptr<ConsumerRunner> runner;
    std::chrono::steady_clock::time_point failed_at{};
  };
  Status StartPath(Path* path);
  void Supervise();

  HistoryOptions options_;
  ModuleContext ctx_;
  std::shared_ptr<ObjectStore> store_;
  std::unique_ptr<LakeProcessor> lake_;
  std::unique_ptr<HotTier> hot_;
  std::shared_ptr<std::atomic<HotTier*>> hot_ref_;  // for the metrics sampler
  std::unique_ptr<HotProcessor> hot_processor_;
  std::unique_ptr<LakeReader> reader_;
  std::unique_ptr<QueryLedger> ledger_;
  std::unique_ptr<QueryRouter> router_;
  Path lake_path_, hot_path_;
  std::thread supervisor_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool started_ = false;
};

// The options `viewpipe serve` gives the module: set by the serve flags
// (tools/history_commands.cc) before the modules are made.
HistoryOptions& HistoryServeOptions();
std::unique_ptr<ServerModule> MakeHistoryModule();

}  // namespace viewpipe
