#include "api/dashboard_module.h"

#include <httplib.h>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <vector>

#include "api/pipeline_routes.h"
#include "api/static_files.h"
#include "common/env.h"

namespace viewpipe {
namespace {

namespace fs = std::filesystem;

bool HasIndex(const fs::path& dir) {
  std::error_code ec;
  return fs::is_regular_file(dir / "index.html", ec);
}

void ServeFile(const StaticFiles& files, const httplib::Request& req, httplib::Response& res) {
  auto file = files.Resolve(req.path);
  std::string body;
  if (!file.ok() || !Env::Default()->ReadFileToString(file->path, &body).ok()) {
    res.status = 404;
    return res.set_content("not found\n", "text/plain; charset=utf-8");
  }
  res.set_header("Cache-Control", "no-cache");
  res.set_header("X-Content-Type-Options", "nosniff");
  res.set_content(body, std::string(file->content_type));
}

}  // namespace

std::string FindWebRoot(const std::string& configured) {
  std::vector<fs::path> candidates;
  std::error_code ec;
  if (!configured.empty()) {
    candidates.push_back(configured);
  } else {
    fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    if (!ec) candidates.push_back(exe.parent_path() / ".." / ".." / "web");
    candidates.push_back("web");
  }
  for (const fs::path& dir : candidates) {
    if (HasIndex(dir)) return fs::weakly_canonical(dir, ec).string();
  }
  return "";
}

DashboardModule::DashboardModule() = default;
DashboardModule::~DashboardModule() = default;

Status DashboardModule::Start(const ModuleContext& ctx) {
  RegisterPipelineRoutes(ctx.http, ctx.log, ctx.clock);
  std::string root = FindWebRoot(ctx.web_root);
  if (root.empty()) {
    if (!ctx.web_root.empty()) {
      return Status::InvalidArgument("--web-root " + ctx.web_root + " has no index.html");
    }
    spdlog::warn("dashboard: no web/ directory found (pass --web-root); / is not served");
    return Status::OK();
  }
  std::string node_modules = (fs::path(root).parent_path() / "node_modules").string();
  files_ = std::make_unique<StaticFiles>(root, node_modules);
  if (!files_->Resolve("/vendor/uplot/uPlot.esm.js").ok()) {
    spdlog::warn("dashboard: {} lacks uplot (run scripts/setup.sh); charts will not draw",
                 node_modules);
  }
  const StaticFiles* files = files_.get();
  auto handler = [files](const httplib::Request& req, httplib::Response& res) {
    ServeFile(*files, req, res);
  };
  ctx.http->Get("/", handler);
  // Anything with an extension outside /v1/; StaticFiles decides what exists.
  ctx.http->Get(R"(/(?!v1/)[^?]*\.[A-Za-z0-9]+)", handler);
  spdlog::info("dashboard: serving {} at /", root);
  return Status::OK();
}

}  // namespace viewpipe
