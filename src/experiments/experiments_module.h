#pragma once
// ExperimentsModule: the A/B reports of `viewpipe serve` — routes only
// (experiment_routes.h). It owns no storage: it reads the history module's
// hot tier (the same DuckDB database, a connection per request) and lake,
// so it must start after the history module. With the history off, its
// routes answer 503.

#include <memory>
#include <vector>

#include "api/server_module.h"
#include "experiments/experiment_service.h"

namespace viewpipe {
class HistoryModule;
}

namespace viewpipe::experiments {

class ExperimentsModule final : public ServerModule {
 public:
  // history may be null (no history module): the routes answer 503.
  explicit ExperimentsModule(HistoryModule* history) : history_(history) {}

  std::string name() const override { return "experiments"; }
  Status Start(const ModuleContext& ctx) override;
  void Stop() override {}

 private:
  HistoryModule* history_;
  std::unique_ptr<ExperimentService> service_;
};

// The module for `viewpipe serve`, reading the history module among those
// made before it.
std::unique_ptr<ServerModule> MakeExperimentsModule(
    const std::vector<std::unique_ptr<ServerModule>>& earlier);

}  // namespace viewpipe::experiments
