#pragma once
// The modules `viewpipe serve` runs, in start order. Each consumer path
// adds itself in modules.cc.

#include <memory>
#include <string>
#include <vector>

#include "api/server_module.h"
#include "common/status.h"

namespace viewpipe::tools {

struct ServerConfig;
std::vector<std::unique_ptr<ServerModule>> MakeModules(const ServerConfig& config);

// The modules to start: those `paths` names (empty: all; {"none"}: none
// but the dashboard, which is no consumer path). An unknown name is an
// error. All modules stay constructed (one may hold a pointer to another
// and then finds it not started).
Result<std::vector<ServerModule*>> SelectModules(
    const std::vector<std::unique_ptr<ServerModule>>& modules,
    const std::vector<std::string>& paths);

}  // namespace viewpipe::tools
