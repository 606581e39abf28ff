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

// Keeps the modules `paths` names (empty: all; {"none"}: none but the
// dashboard, which is no consumer path). An unknown name is an error.
Result<std::vector<std::unique_ptr<ServerModule>>> SelectModules(
    std::vector<std::unique_ptr<ServerModule>> modules, const std::vector<std::string>& paths);

}  // namespace viewpipe::tools
