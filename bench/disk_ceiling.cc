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
//
// With --events-per-s R: the disk's own latency floor for durable acks at
// that rate. A group commit with no CPU cost: each round writes what arrived
// since the last one began (R x --event-bytes a second), split over --files
// files (the log writes one per partition it touched: 1 is the floor for any
// log, 6 is viewpipe's log with the collector alone), and fdatasyncs them
// in parallel, as the log's group commit does. Requests of --batch events
// arrive evenly (R / batch a second); each is acked when the first round
// that began after it arrived ends. Prints that latency's p50 / p99 /
// p99.9 / max, rounds a second and the rounds over 20 and 50 ms. Files roll
// at 128 MiB like the log's segments and are kept to the end.
//
//   disk_ceiling --dir /tmp/x --events-per-s 500000 --files 6 --seconds 15

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <barrier>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <utility>
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

void WriteAll(int fd, const char* data, size_t n, off_t at) {
  size_t off = 0;
  while (off < n) {
    ssize_t w = ::pwrite(fd, data + off, n - off, at + static_cast<off_t>(off));
    if (w < 0) {
      if (errno == EINTR) continue;
      Die("write");
    }
    off += static_cast<size_t>(w);
  }
}

struct GroupCommitOptions {
  std::string dir;
  double events_per_s = 0;
  size_t event_bytes = 291;
  size_t batch = 500;
  int files = 1;
  double seconds = 15;
};

int RunGroupCommit(const GroupCommitOptions& o, const std::vector<char>& buf) {
  const size_t file_bytes = size_t{128} << 20;
  const int n = o.files;
  std::vector<int> fds(static_cast<size_t>(n), -1);
  std::vector<std::string> paths;
  int generation = 0;
  auto open_all = [&]() {
    for (int i = 0; i < n; ++i) {
      if (fds[i] >= 0) ::close(fds[i]);
      paths.push_back(o.dir + "/disk_ceiling." + std::to_string(getpid()) + "." +
                      std::to_string(generation) + "." + std::to_string(i) + ".tmp");
      fds[i] = ::open(paths.back().c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      if (fds[i] < 0) Die("open");
    }
    ++generation;
  };
  open_all();
  // Files 1..n-1 are synced by their own threads, file 0 by this one.
  std::barrier start(n), done(n);
  bool stop = false;
  std::vector<std::thread> syncers;
  for (int i = 1; i < n; ++i) {
    syncers.emplace_back([&, i] {
      for (;;) {
        start.arrive_and_wait();
        if (stop) return;
        if (::fdatasync(fds[i]) != 0) Die("fdatasync");
        done.arrive_and_wait();
      }
    });
  }
  const size_t max_round = std::min(buf.size(), file_bytes) / static_cast<size_t>(n);
  std::vector<std::pair<double, double>> rounds;  // (began, ended)
  size_t in_file = 0;
  double t0 = Now(), t = t0, owed = 0, last = t0;
  while (t < t0 + o.seconds) {
    owed += (t - last) * o.events_per_s * static_cast<double>(o.event_bytes);
    last = t;
    if (owed < static_cast<double>(o.event_bytes)) {  // nothing arrived yet
      ::usleep(50);
      t = Now();
      continue;
    }
    const size_t per = std::min(max_round, static_cast<size_t>(owed) / static_cast<size_t>(n) + 1);
    owed -= static_cast<double>(per * static_cast<size_t>(n));
    if (in_file + per > file_bytes) {
      open_all();  // a new segment per file, as the log rolls
      in_file = 0;
    }
    const double began = t;
    for (int i = 0; i < n; ++i) WriteAll(fds[i], buf.data(), per, static_cast<off_t>(in_file));
    start.arrive_and_wait();
    if (::fdatasync(fds[0]) != 0) Die("fdatasync");
    done.arrive_and_wait();
    in_file += per;
    t = Now();
    rounds.emplace_back(began, t);
  }
  stop = true;
  start.arrive_and_wait();
  for (std::thread& th : syncers) th.join();
  for (int fd : fds) ::close(fd);
  for (const std::string& p : paths) ::unlink(p.c_str());

  // A request arriving in [began_{i-1}, began_i) rides round i.
  const double gap = static_cast<double>(o.batch) / o.events_per_s;
  std::vector<double> lat;
  size_t i = 0;
  for (double a = t0 + gap; !rounds.empty() && a < rounds.back().first; a += gap) {
    while (rounds[i].first <= a) ++i;
    lat.push_back(rounds[i].second - a);
  }
  int over20 = 0, over50 = 0;
  for (const auto& [b, e] : rounds) {
    over20 += e - b > 0.020;
    over50 += e - b > 0.050;
  }
  std::sort(lat.begin(), lat.end());
  auto q = [&](double p) {
    return lat.empty() ? 0.0 : lat[std::min(lat.size() - 1, static_cast<size_t>(p * lat.size()))];
  };
  const double elapsed = t - t0;
  std::printf(
      "{\"events_per_s\":%.0f,\"event_bytes\":%zu,\"batch\":%zu,\"files\":%d,"
      "\"seconds\":%.2f,\"requests\":%zu,\"rounds_per_s\":%.0f,\"rounds_over_20ms\":%d,"
      "\"rounds_over_50ms\":%d,\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"p999_ms\":%.3f,"
      "\"max_ms\":%.3f}\n",
      o.events_per_s, o.event_bytes, o.batch, n, elapsed, lat.size(),
      static_cast<double>(rounds.size()) / elapsed, over20, over50, q(0.5) * 1e3, q(0.99) * 1e3,
      q(0.999) * 1e3, lat.empty() ? 0.0 : lat.back() * 1e3);
  return 0;
}
}  // namespace

int main(int argc, char** argv) {
  std::string dir = ".";
  size_t chunk = 1 << 20;
  double seconds = 5;
  size_t file_mb = 512;
  bool prealloc = false;
  GroupCommitOptions gc;
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
    } else if (a == "--events-per-s") {
      gc.events_per_s = std::atof(val());
    } else if (a == "--event-bytes") {
      gc.event_bytes = static_cast<size_t>(std::atol(val()));
    } else if (a == "--batch") {
      gc.batch = static_cast<size_t>(std::atol(val()));
    } else if (a == "--files") {
      gc.files = std::atoi(val());
    } else {
      std::fprintf(stderr,
                   "usage: disk_ceiling --dir DIR [--chunk-kib 1024] [--seconds 5] "
                   "[--file-mb 512] [--prealloc]\n"
                   "       disk_ceiling --dir DIR --events-per-s R [--event-bytes 291] "
                   "[--batch 500] [--files 1] [--seconds 5]\n");
      return 2;
    }
  }
  if (gc.events_per_s > 0) {
    if (gc.event_bytes == 0 || gc.batch == 0 || gc.files < 1) {
      std::fprintf(stderr, "disk_ceiling: bad --event-bytes / --batch / --files\n");
      return 2;
    }
    gc.dir = dir;
    gc.seconds = seconds;
    // Room for a second's bytes in one round (a stall's backlog).
    const double second = gc.events_per_s * static_cast<double>(gc.event_bytes);
    std::vector<char> buf(std::max<size_t>(size_t{1} << 20, static_cast<size_t>(second)));
    std::mt19937_64 rng(42);
    for (size_t i = 0; i + 8 <= buf.size(); i += 8) {
      uint64_t v = rng();
      std::memcpy(buf.data() + i, &v, 8);
    }
    return RunGroupCommit(gc, buf);
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
