#pragma once
// ScopedTempDir: a fresh directory for one test, removed with everything in
// it when the object goes away. Test-only helper (header only).

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <string>

namespace viewpipe {

class ScopedTempDir {
 public:
  ScopedTempDir() {
    static std::atomic<int> counter{0};
    const char* base = std::getenv("TEST_TMPDIR");
    std::filesystem::path root = base != nullptr ? base : std::filesystem::temp_directory_path();
    path_ = (root / ("viewpipe-" + std::to_string(::getpid()) + "-" +
                     std::to_string(counter.fetch_add(1))))
                .string();
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~ScopedTempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  ScopedTempDir(const ScopedTempDir&) = delete;
  ScopedTempDir& operator=(const ScopedTempDir&) = delete;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace viewpipe
