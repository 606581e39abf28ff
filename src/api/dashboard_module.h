#pragma once
// DashboardModule: the live operations dashboard at `/` (web/ plus the few
// npm files it loads from node_modules, see static_files.h) and
// GET /v1/pipeline (pipeline_routes.h), the consumer lag it shows.
//
// The web root is ModuleContext::web_root, or when that is empty the first
// of <executable dir>/../../web (build/<type>/viewpipe in a checkout) and
// ./web that holds an index.html. node_modules is the web root's sibling.

#include <memory>
#include <string>

#include "api/server_module.h"

namespace viewpipe {

class StaticFiles;

class DashboardModule final : public ServerModule {
 public:
  DashboardModule();
  ~DashboardModule() override;

  std::string name() const override { return "dashboard"; }
  // InvalidArgument when an explicitly configured web root has no index.html.
  Status Start(const ModuleContext& ctx) override;
  void Stop() override {}

 private:
  std::unique_ptr<StaticFiles> files_;
};

// The web root to use for a configured value (see above); empty when none
// of the candidates has an index.html.
std::string FindWebRoot(const std::string& configured);

}  // namespace viewpipe
