#pragma once
// StaticFiles: maps the dashboard's URL paths to files on disk, refusing
// anything that could reach outside the two places it serves from:
//
//   /                  -> <web_root>/index.html
//   /<dir>/<name.ext>  -> <web_root>/<dir>/<name.ext>   (names [A-Za-z0-9._-],
//                         no leading '.', a known extension; symlinks must
//                         stay inside web_root)
//   /vendor/...        -> only the exact files of kVendorFiles, read from
//                         <node_modules>/ (npm packages installed by setup.sh)
//
// Paths are the decoded request path (httplib decodes %xx before routing).
// Thread safety: immutable after construction; Resolve may run concurrently.

#include <string>
#include <string_view>

#include "common/status.h"

namespace viewpipe {

struct StaticFile {
  std::string path;               // the file on disk
  std::string_view content_type;  // with charset for text types
};

class StaticFiles {
 public:
  StaticFiles(std::string web_root, std::string node_modules);

  // The file behind url_path, or NotFound for anything not served (unknown
  // or hidden names, traversal, unknown extensions, missing files).
  Result<StaticFile> Resolve(std::string_view url_path) const;

  // The Content-Type for a file name by extension; empty when not served.
  static std::string_view ContentType(std::string_view file_name);

  const std::string& web_root() const { return web_root_; }

 private:
  std::string web_root_;
  std::string node_modules_;
};

}  // namespace viewpipe
