#include "experiments/experiments_module.h"

#include <spdlog/spdlog.h>

#include "experiments/experiment_routes.h"
#include "warehouse/history_module.h"

namespace viewpipe::experiments {

Status ExperimentsModule::Start(const ModuleContext& ctx) {
  HotTier* hot = history_ != nullptr ? history_->hot_tier() : nullptr;
  if (hot != nullptr) {
    service_ = std::make_unique<ExperimentService>(hot, history_->lake_reader(), ctx.clock);
  } else {
    spdlog::warn("experiments: no hot tier (history off): /v1/experiments answers 503");
  }
  RegisterExperimentRoutes(ctx.http, [this] { return service_.get(); });
  return Status::OK();
}

std::unique_ptr<ServerModule> MakeExperimentsModule(
    const std::vector<std::unique_ptr<ServerModule>>& earlier) {
  HistoryModule* history = nullptr;
  for (const auto& m : earlier) {
    if (auto* h = dynamic_cast<HistoryModule*>(m.get())) history = h;
  }
  return std::make_unique<ExperimentsModule>(history);
}

}  // namespace viewpipe::experiments
