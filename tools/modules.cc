#include "tools/modules.h"

#include <set>

#include "api/dashboard_module.h"
#include "experiments/experiments_module.h"
#include "batch/batch_module.h"
#include "features/features_module.h"
#include "ops/ops_module.h"
#include "opsgroup/ops_group_module.h"
#include "sre/sre_module.h"
#include "sregroup/sre_group_module.h"
#include "tools/pipeline_server.h"
#include "warehouse/history_module.h"

namespace viewpipe::tools {

std::vector<std::unique_ptr<ServerModule>> MakeModules(const ServerConfig& /*config*/) {
  std::vector<std::unique_ptr<ServerModule>> modules;
  // One line per module, in start order:
  modules.push_back(std::make_unique<DashboardModule>());
  modules.push_back(ops::OpsGroupServeOptions().enabled ? ops::MakeOpsGroupModule()
                                                        : std::make_unique<ops::OpsModule>());
  modules.push_back(MakeHistoryModule());
  modules.push_back(experiments::MakeExperimentsModule(modules));  // after history
  modules.push_back(std::make_unique<batch::BatchModule>());
  modules.push_back(features::MakeFeaturesModule());
  modules.push_back(sre::SreGroupServeOptions().enabled ? sre::MakeSreGroupModule()
                                                        : std::make_unique<sre::SreModule>());
  return modules;
}

Result<std::vector<ServerModule*>> SelectModules(
    const std::vector<std::unique_ptr<ServerModule>>& modules,
    const std::vector<std::string>& paths) {
  std::vector<ServerModule*> kept;
  std::set<std::string> wanted(paths.begin(), paths.end());
  const bool none = wanted.erase("none") > 0;
  if (none && !wanted.empty()) return Status::InvalidArgument("--paths none excludes other paths");
  std::string known;
  for (const auto& module : modules) {
    const std::string name = module->name();
    if (name != "dashboard") known += (known.empty() ? "" : ", ") + name;
    if (paths.empty() || name == "dashboard" || wanted.erase(name) > 0) kept.push_back(module.get());
  }
  if (!wanted.empty()) {
    return Status::InvalidArgument("unknown path '" + *wanted.begin() + "' (known: " + known +
                                   ", or none)");
  }
  return kept;
}

}  // namespace viewpipe::tools
