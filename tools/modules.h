#pragma once
// The modules `viewpipe serve` runs, in start order. Each consumer path
// adds itself in modules.cc.

#include <memory>
#include <vector>

#include "api/server_module.h"

namespace viewpipe::tools {

struct ServerConfig;
std::vector<std::unique_ptr<ServerModule>> MakeModules(const ServerConfig& config);

}  // namespace viewpipe::tools
