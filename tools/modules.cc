#include "tools/modules.h"

#include "tools/pipeline_server.h"

namespace viewpipe::tools {

std::vector<std::unique_ptr<ServerModule>> MakeModules(const ServerConfig& /*config*/) {
  std::vector<std::unique_ptr<ServerModule>> modules;
  // One line per module, in start order:
  return modules;
}

}  // namespace viewpipe::tools
