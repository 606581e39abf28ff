#include "tools/modules.h"

#include "api/dashboard_module.h"
#include "ops/ops_module.h"
#include "sre/sre_module.h"
#include "tools/pipeline_server.h"
#include "warehouse/history_module.h"

namespace viewpipe::tools {

std::vector<std::unique_ptr<ServerModule>> MakeModules(const ServerConfig& /*config*/) {
  std::vector<std::unique_ptr<ServerModule>> modules;
  // One line per module, in start order:
  modules.push_back(std::make_unique<DashboardModule>());
  modules.push_back(std::make_unique<ops::OpsModule>());
  modules.push_back(MakeHistoryModule());
  modules.push_back(std::make_unique<sre::SreModule>());
  return modules;
}

}  // namespace viewpipe::tools
