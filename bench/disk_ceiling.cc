// disk_ceiling: the disk's own sequential write + fdatasync bandwidth, the
// ceiling for any log that acks only after its data is durable.
//
// Appends --chunk-byte chunks to a fresh file in --dir (the same filesystem
// as the data dir under test), fdatasync after every chunk, for --seconds.
// Files roll at --file-mb (old ones are deleted) so the disk use stays
// bounded. With --prealloc the file is fallocate'd first (overwriting
// allocated blocks: no size change per sync, as a log with preallocated
// segments would see).
//
// Prints one JSON line: {"chunk_bytes":..,"mb_per_s":..,"syncs_per_s":..,...}
//
//   disk_ceiling --dir /tmp/x --chunk-kib 1024 --seconds 5

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace {
double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
[[noreturn]] void Die(const char* what) {
  std::fprintf(stderr, "disk_ceiling: %s: %s\n", what, std::strerror(errno));
  std::exit(1);
}
}  // namespace

int main(int argc, char** argv) {
  std::string dir = ".";
  size_t chunk = 1 << 20;
  double seconds = 5;
  size_t file_mb = 512;
  bool prealloc = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto val = [&]() -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "missing value for %s\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--dir") {
      dir = val();
    } else if (a == "--chunk-kib") {
      chunk = static_cast<size_t>(std::atol(val())) * 1024;
    } else if (a == "--seconds") {
      seconds = std::atof(val());
    } else if (a == "--file-mb") {
      file_mb = static_cast<size_t>(std::atol(val()));
    } else if (a == "--prealloc") {
      prealloc = true;
    } else {
      std::fprintf(stderr,
                   "usage: disk_ceiling --dir DIR [--chunk-kib 1024] [--seconds 5] "
                   "[--file-mb 512] [--prealloc]\n");
      return 2;
    }
  }
  if (chunk == 0 || file_mb * 1024 * 1024 < chunk) {
    std::fprintf(stderr, "disk_ceiling: bad sizes\n");
    return 2;
  }
  // Incompressible data, in case the virtual disk compresses or dedups.
  std::vector<char> buf(chunk);
  std::mt19937_64 rng(42);
  for (size_t i = 0; i + 8 <= chunk; i += 8) {
    uint64_t v = rng();
    std::memcpy(buf.data() + i, &v, 8);
  }
  const size_t file_bytes = file_mb * 1024 * 1024 / chunk * chunk;
  std::string path = dir + "/disk_ceiling." + std::to_string(getpid()) + ".tmp";
  auto open_file = [&]() {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) Die("open");
    if (prealloc) {
      if (::posix_fallocate(fd, 0, static_cast<off_t>(file_bytes)) != 0) Die("fallocate");
      if (::fsync(fd) != 0) Die("fsync");
    }
    return fd;
  };
  int fd = open_file();
  size_t in_file = 0;
  long long total = 0, syncs = 0;
  double sync_time = 0, max_sync = 0, roll_time = 0;
  double t0 = Now(), end = t0 + seconds;
  double t = t0;
  while (t < end) {
    if (in_file + chunk > file_bytes) {
      double r0 = Now();
      ::close(fd);
      ::unlink(path.c_str());
      fd = open_file();
      in_file = 0;
      roll_time += Now() - r0;
    }
    size_t off = 0;
    while (off < chunk) {
      ssize_t n = ::pwrite(fd, buf.data() + off, chunk - off, static_cast<off_t>(in_file + off));
      if (n < 0) {
        if (errno == EINTR) continue;
        Die("write");
      }
      off += static_cast<size_t>(n);
    }
    double s0 = Now();
    if (::fdatasync(fd) != 0) Die("fdatasync");
    t = Now();
    sync_time += t - s0;
    if (t - s0 > max_sync) max_sync = t - s0;
    in_file += chunk;
    total += static_cast<long long>(chunk);
    ++syncs;
  }
  double elapsed = t - t0 - roll_time;
  ::close(fd);
  ::unlink(path.c_str());
  std::printf(
      "{\"chunk_bytes\":%zu,\"prealloc\":%s,\"seconds\":%.2f,\"bytes\":%lld,\"mb_per_s\":%.1f,"
      "\"syncs_per_s\":%.0f,\"mean_sync_ms\":%.3f,\"max_sync_ms\":%.3f}\n",
      chunk, prealloc ? "true" : "false", elapsed, total, total / elapsed / 1e6, syncs / elapsed,
      syncs ? sync_time / syncs * 1e3 : 0.0, max_sync * 1e3);
  return 0;
}
