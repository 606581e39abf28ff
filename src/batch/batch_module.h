#pragma once
// BatchModule: the batch consumers inside `viewpipe serve`: the scheduler
// (batch_scheduler.h) over the lake of the history module (it reads the
// lake through its manifests only, never the hot paths), its run ledger and
// locks under <data_dir>/batch/, and the /v1/batch/* routes.
//
// Left out with the other paths by `serve --paths` (tools/modules.h). The
// catalog is the server's (`serve --catalog`, ModuleContext::catalog_path).
//
// Knobs (environment, read at Start):
//   VIEWPIPE_BATCH=0                 no scheduler (routes still answer)
//   VIEWPIPE_BATCH_LOOKBACK_DAYS     days caught up after downtime (35)
//   VIEWPIPE_BATCH_POLL_MS           scheduler period (10000)
//   VIEWPIPE_BATCH_MEMORY_LIMIT      DuckDB memory limit of a job (1GB)

#include <memory>
#include <string>

#include "api/server_module.h"
#include "batch/batch_scheduler.h"

namespace viewpipe::batch {

// <data_dir>/batch: the run ledger, locks and scratch files.
std::string BatchStateDir(const std::string& data_dir);
std::string DefaultCatalogPath(const std::string& data_dir);
// With the knobs VIEWPIPE_BATCH_MEMORY_LIMIT (DuckDB memory_limit, "1GB")
// and VIEWPIPE_BATCH_ROWS_PER_BUCKET (3000000), for serve and `viewpipe batch`.
RunnerOptions MakeRunnerOptions(const std::string& data_dir, ObjectStore* lake, Clock* clock,
                                const std::string& catalog_path);

class BatchModule final : public ServerModule {
 public:
  BatchModule();
  ~BatchModule() override;
  std::string name() const override { return "batch"; }
  Status Start(const ModuleContext& ctx) override;
  void Stop() override;

 private:
  std::shared_ptr<ObjectStore> store_;  // the lake (OpenLakeStore)
  std::unique_ptr<BatchRunner> runner_;
  std::unique_ptr<BatchScheduler> scheduler_;
};

}  // namespace viewpipe::batch
