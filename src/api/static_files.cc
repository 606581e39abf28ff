#include "api/static_files.h"

#include <algorithm>
#include <array>
#include <filesystem>
#include <utility>

namespace viewpipe {
namespace {

namespace fs = std::filesystem;

constexpr size_t kMaxPathBytes = 256;
constexpr int kMaxSegments = 6;

// URL path under /vendor/ -> file under node_modules. Nothing else of
// node_modules is reachable.
constexpr std::array<std::pair<std::string_view, std::string_view>, 2> kVendorFiles = {{
    {"/vendor/uplot/uPlot.esm.js", "uplot/dist/uPlot.esm.js"},
    {"/vendor/uplot/uPlot.min.css", "uplot/dist/uPlot.min.css"},
}};

constexpr std::array<std::pair<std::string_view, std::string_view>, 11> kContentTypes = {{
    {".html", "text/html; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".mjs", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".json", "application/json"},
    {".map", "application/json"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".ico", "image/x-icon"},
    {".woff2", "font/woff2"},
    {".txt", "text/plain; charset=utf-8"},
}};

bool SafeSegment(std::string_view s) {
  if (s.empty() || s[0] == '.') return false;  // also refuses "." and ".."
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

// Checks every segment of a path that starts with '/'; returns it without
// the leading '/', or empty when any segment is unsafe.
std::string SafeRelativePath(std::string_view url_path) {
  if (url_path.size() < 2 || url_path.size() > kMaxPathBytes || url_path[0] != '/') return "";
  std::string_view rest = url_path.substr(1);
  int segments = 0;
  while (true) {
    size_t slash = rest.find('/');
    std::string_view seg = rest.substr(0, slash);
    if (!SafeSegment(seg) || ++segments > kMaxSegments) return "";
    if (slash == std::string_view::npos) break;
    rest = rest.substr(slash + 1);
  }
  return std::string(url_path.substr(1));
}

// True when path (which must exist) resolves, symlinks followed, inside root.
bool Inside(const fs::path& root, const fs::path& path) {
  std::error_code ec;
  fs::path real_root = fs::canonical(root, ec);
  if (ec) return false;
  fs::path real = fs::canonical(path, ec);
  if (ec) return false;
  auto [r, p] = std::mismatch(real_root.begin(), real_root.end(), real.begin(), real.end());
  return r == real_root.end();
}

Result<StaticFile> Existing(const std::string& root, const std::string& relative) {
  std::string_view type = StaticFiles::ContentType(relative);
  if (type.empty()) return Status::NotFound("not a served file type");
  fs::path path = fs::path(root) / relative;
  std::error_code ec;
  if (!fs::is_regular_file(path, ec) || !Inside(root, path)) return Status::NotFound("no file");
  return StaticFile{path.string(), type};
}

}  // namespace

StaticFiles::StaticFiles(std::string web_root, std::string node_modules)
    : web_root_(std::move(web_root)), node_modules_(std::move(node_modules)) {}

std::string_view StaticFiles::ContentType(std::string_view file_name) {
  size_t slash = file_name.rfind('/');
  std::string_view base = slash == std::string_view::npos ? file_name : file_name.substr(slash + 1);
  size_t dot = base.rfind('.');
  if (dot == std::string_view::npos || dot == 0) return {};
  std::string_view ext = base.substr(dot);
  for (const auto& [e, type] : kContentTypes) {
    if (e == ext) return type;
  }
  return {};
}

Result<StaticFile> StaticFiles::Resolve(std::string_view url_path) const {
  if (url_path == "/") return Existing(web_root_, "index.html");
  if (url_path.starts_with("/vendor/")) {
    for (const auto& [url, file] : kVendorFiles) {
      if (url == url_path) return Existing(node_modules_, std::string(file));
    }
    return Status::NotFound("not a vendored file");
  }
  std::string relative = SafeRelativePath(url_path);
  if (relative.empty()) return Status::NotFound("not a servable path");
  return Existing(web_root_, relative);
}

}  // namespace viewpipe
