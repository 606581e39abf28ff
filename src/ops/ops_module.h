#pragma once
// OpsModule: the ops path inside `viewpipe serve`: consumer group "ops" on
// topic `viewing` (ConsumerRunner + OpsProcessor), its state under
// data_dir/ops/, and the /v1/ops/* routes (ops_routes.h).
//
// Knobs (environment, read at Start; defaults in ops_options.h):
//   VIEWPIPE_OPS_TIMEOUT_MS              session timeout (30000)
//   VIEWPIPE_OPS_LATENESS_MS             lateness bound (600000)
//   VIEWPIPE_OPS_COMPLETE_AFTER_MS       completeness allowance (200)
//   VIEWPIPE_OPS_CHECKPOINT_INTERVAL_MS  checkpoint period (10000)
//   VIEWPIPE_OPS_MAX_STREAM_CLIENTS      concurrent /v1/ops/stream clients (16)

#include <memory>
#include <string>

#include "api/server_module.h"
#include "ops/ops_options.h"

namespace viewpipe {
class ConsumerRunner;
}

namespace viewpipe::ops {

class OpsState;
class OpsProcessor;
class OpsRoutes;

// Reads the VIEWPIPE_OPS_* variables over the defaults; InvalidArgument
// names a bad one.
Result<OpsOptions> OpsOptionsFromEnv();

class OpsModule final : public ServerModule {
 public:
  OpsModule();
  ~OpsModule() override;
  std::string name() const override { return "ops"; }
  Status Start(const ModuleContext& ctx) override;
  void Stop() override;

 private:
  std::unique_ptr<OpsState> state_;
  std::unique_ptr<OpsProcessor> processor_;
  std::unique_ptr<OpsRoutes> routes_;
  std::unique_ptr<ConsumerRunner> runner_;
};

}  // namespace viewpipe::ops
