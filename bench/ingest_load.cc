// ingest_load: HTTP load generator for POST /v1/events, run as its own process.
//
// It makes realistic viewing events (sessions with consistent device, title,
// country, CDN ...; a heartbeat-heavy mix of event types; uuid-ish ids;
// about 350 bytes of JSON each), builds request bodies of --batch events up
// front, and drives --connections keep-alive HTTP/1.1 connections (raw
// sockets, one blocking thread per connection) in one of two modes:
//
//   max   every connection sends its next batch as soon as the previous
//         one is answered, for --duration seconds;
//   rate  an open-loop schedule at --rate events/s: request i is due at
//         start + i * batch / rate; a free connection takes the next due
//         request, waits for its time and sends it. Latency is measured
//         from the scheduled time (not the actual send time), so a stalled
//         server is charged for the requests it delayed (no coordinated
//         omission). The service time (from the actual send) is reported too.
//
// Every event sent has a distinct event_id (the collector dedups):
//   --encoding json  a pool of template bodies; before each send the
//                    connection copies a template and writes fresh ids into
//                    it (fixed-width, derived from a per-process random nonce
//                    and a global counter), so a run of any length sends
//                    distinct events and building bodies costs nothing;
//   --encoding gzip  gzip bodies cannot be patched, so --events distinct
//                    events are compressed up front (all cores); a run ends
//                    early when they are used up, and says so.
//
// Output: one JSON line on stdout (see PrintResult). Progress goes to stderr.
//
//   ingest_load --target 127.0.0.1:8080 --key KEY --mode max --duration 10
//   ingest_load --target 127.0.0.1:8080 --key KEY --mode rate --rate 500000 --duration 15
//   ingest_load --dump-events FILE --events 100000   (event texts, one per line)

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

// ---------------------------------------------------------------- options

struct Options {
  std::string host = "127.0.0.1";
  int port = 8080;
  std::string key = "bench-key";
  std::string mode = "max";       // max | rate
  std::string encoding = "json";  // json | gzip
  std::string format = "json";    // json | ndjson
  int connections = 16;
  int batch = 500;
  double duration_s = 10;
  double warmup_s = 2;
  double rate = 0;         // events/s, mode rate
  int64_t events = 0;      // gzip: distinct events to pre-build (0: auto)
  int templates = 64;      // json: template bodies in the pool
  int gzip_level = 6;
  int retry_backoff_ms = 20;
  int timeout_ms = 10000;
  bool quickack = false;    // diagnostic: ACK responses at once (defeats a server's Nagle stall)
  std::string dump_events;  // write events one per line and exit
  uint64_t seed = 0;        // 0: random
};

[[noreturn]] void Usage(const char* msg) {
  if (msg) std::fprintf(stderr, "ingest_load: %s\n", msg);
  std::fprintf(stderr,
               "usage: ingest_load --target HOST:PORT [--key KEY] [--mode max|rate]\n"
               "         [--encoding json|gzip] [--format json|ndjson] [--connections C]\n"
               "         [--batch 500] [--duration S] [--warmup S] [--rate EVENTS_PER_S]\n"
               "         [--events N (gzip pool)] [--templates T] [--gzip-level L]\n"
               "         [--timeout-ms MS] [--retry-backoff-ms MS] [--seed S]\n"
               "         [--quickack (diagnostic: TCP_QUICKACK before every read)]\n"
               "       ingest_load --dump-events FILE --events N\n");
  std::exit(2);
}

Options ParseArgs(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto val = [&]() -> std::string {
      if (i + 1 >= argc) Usage(("missing value for " + a).c_str());
      return argv[++i];
    };
    if (a == "--target") {
      std::string t = val();
      auto c = t.rfind(':');
      if (c == std::string::npos) Usage("--target wants HOST:PORT");
      o.host = t.substr(0, c);
      o.port = std::atoi(t.c_str() + c + 1);
    } else if (a == "--key") {
      o.key = val();
    } else if (a == "--mode") {
      o.mode = val();
    } else if (a == "--encoding") {
      o.encoding = val();
    } else if (a == "--format") {
      o.format = val();
    } else if (a == "--connections" || a == "-c") {
      o.connections = std::atoi(val().c_str());
    } else if (a == "--batch") {
      o.batch = std::atoi(val().c_str());
    } else if (a == "--duration" || a == "-d") {
      o.duration_s = std::atof(val().c_str());
    } else if (a == "--warmup") {
      o.warmup_s = std::atof(val().c_str());
    } else if (a == "--rate") {
      o.rate = std::atof(val().c_str());
    } else if (a == "--events") {
      o.events = std::atoll(val().c_str());
    } else if (a == "--templates") {
      o.templates = std::atoi(val().c_str());
    } else if (a == "--gzip-level") {
      o.gzip_level = std::atoi(val().c_str());
    } else if (a == "--retry-backoff-ms") {
      o.retry_backoff_ms = std::atoi(val().c_str());
    } else if (a == "--timeout-ms") {
      o.timeout_ms = std::atoi(val().c_str());
    } else if (a == "--quickack") {
      o.quickack = true;
    } else if (a == "--dump-events") {
      o.dump_events = val();
    } else if (a == "--seed") {
      o.seed = std::strtoull(val().c_str(), nullptr, 10);
    } else if (a == "-h" || a == "--help") {
      Usage(nullptr);
    } else {
      Usage(("unknown option " + a).c_str());
    }
  }
  if (o.mode != "max" && o.mode != "rate") Usage("--mode is max or rate");
  if (o.encoding != "json" && o.encoding != "gzip") Usage("--encoding is json or gzip");
  if (o.format != "json" && o.format != "ndjson") Usage("--format is json or ndjson");
  if (o.mode == "rate" && o.rate <= 0) Usage("--mode rate needs --rate > 0");
  if (o.connections < 1 || o.batch < 1 || o.duration_s <= 0) Usage("bad numbers");
  if (o.warmup_s < 0 || o.warmup_s >= o.duration_s) o.warmup_s = 0;
  return o;
}

using Clock = std::chrono::steady_clock;
int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}
int64_t WallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// ---------------------------------------------------------------- ids

uint64_t SplitMix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

constexpr int kIdLen = 36;  // 8-4-4-4-12, like a UUID

// The 8 lower-case hex digits of x, most significant first, as the bytes
// of a word (little-endian), computed a word at a time: this runs for every
// event the load generator sends, and a digit at a time it was half of the
// generator's CPU.
uint64_t Hex8(uint32_t x) {
  uint64_t n = x;
  n = ((n & 0xFFFF0000ULL) << 16) | (n & 0xFFFFULL);
  n = ((n & 0x0000FF000000FF00ULL) << 8) | (n & 0x000000FF000000FFULL);
  n = ((n & 0x00F000F000F000F0ULL) << 4) | (n & 0x000F000F000F000FULL);
  n = __builtin_bswap64(n);  // the most significant nibble into the first byte
  const uint64_t letters = ((n + 0x0606060606060606ULL) >> 4) & 0x0101010101010101ULL;
  return n + 0x3030303030303030ULL + letters * ('a' - '0' - 10);
}

void Store8(char* out, uint64_t word) { std::memcpy(out, &word, 8); }
void Store4(char* out, uint64_t word) {
  const auto w = static_cast<uint32_t>(word);
  std::memcpy(out, &w, 4);
}

// Writes a UUID-v4-shaped id for sequence number n. The low 64 bits are a
// bijection of n, so distinct n give distinct ids; the nonce separates runs.
void WriteId(char* out, uint64_t nonce, uint64_t n) {
  uint64_t hi = SplitMix(nonce ^ (n * 0x9e3779b97f4a7c15ULL));
  uint64_t lo = SplitMix(n + nonce);
  hi = (hi & ~0xf000ULL) | 0x4000ULL;                        // version nibble
  lo = (lo & ~(0xfULL << 60)) | ((0x8 | (lo >> 62)) << 60);  // variant: 8-b
  // 8-4-4-4-12: hi's first 8 digits, its last 8 as 4 + 4, lo's the same,
  // and lo's last 8 (the last group's 12 are lo's digits 5-16).
  Store8(out, Hex8(static_cast<uint32_t>(hi >> 32)));
  const uint64_t hi_low = Hex8(static_cast<uint32_t>(hi));
  const uint64_t lo_high = Hex8(static_cast<uint32_t>(lo >> 32));
  out[8] = '-';
  Store4(out + 9, hi_low);
  out[13] = '-';
  Store4(out + 14, hi_low >> 32);
  out[18] = '-';
  Store4(out + 19, lo_high);
  out[23] = '-';
  Store4(out + 24, lo_high >> 32);
  Store8(out + 28, Hex8(static_cast<uint32_t>(lo)));
}

std::atomic<uint64_t> g_next_id{1};

// ---------------------------------------------------------------- events

struct Session {
  std::string id, profile, title, device, country, cdn, os, app, isp, live, experiments;
  int64_t position_ms;
  int bitrate;
};

class EventGen {
 public:
  EventGen(uint64_t seed, uint64_t nonce) : rng_(seed), nonce_(nonce) {
    now_ms_ = WallMs();
    sessions_.reserve(kSessions);
    for (int i = 0; i < kSessions; ++i) sessions_.push_back(MakeSession());
  }

  // Appends one event's JSON to out; *id_offset gets the offset of its id.
  void Append(std::string* out, size_t* id_offset) {
    Session& s = sessions_[Pick(kSessions)];
    std::string_view type = PickType();
    int64_t ts = now_ms_ - static_cast<int64_t>(Pick(30 * 60 * 1000));  // last 30 min
    s.position_ms += 10000;
    out->append("{\"event_id\":\"");
    *id_offset = out->size();
    char id[kIdLen];
    WriteId(id, nonce_, g_next_id.fetch_add(1, std::memory_order_relaxed));
    out->append(id, kIdLen);
    char buf[512];
    int n = std::snprintf(
        buf, sizeof buf,
        "\",\"type\":\"%.*s\",\"ts\":%" PRId64
        ",\"session_id\":\"%s\",\"profile_id\":\"%s\",\"title_id\":\"%s\","
        "\"device_type\":\"%s\",\"country\":\"%s\",\"cdn\":\"%s\",\"os\":\"%s\","
        "\"app_version\":\"%s\",\"position_ms\":%" PRId64 ",\"bitrate_kbps\":%d",
        static_cast<int>(type.size()), type.data(), ts, s.id.c_str(), s.profile.c_str(),
        s.title.c_str(), s.device.c_str(), s.country.c_str(), s.cdn.c_str(), s.os.c_str(),
        s.app.c_str(), s.position_ms, s.bitrate);
    out->append(buf, n);
    if (!s.isp.empty()) out->append(",\"isp\":\"").append(s.isp).append("\"");
    if (type == "play_start") {
      n = std::snprintf(buf, sizeof buf, ",\"startup_ms\":%d", 300 + Pick(4000));
      out->append(buf, n);
    } else if (type == "rebuffer_end") {
      n = std::snprintf(buf, sizeof buf, ",\"rebuffer_ms\":%d", 200 + Pick(8000));
      out->append(buf, n);
    } else if (type == "error") {
      static const char* codes[] = {"DRM_LICENSE_EXPIRED", "NETWORK_TIMEOUT", "MANIFEST_404",
                                    "DECODER_INIT_FAILED", "CDN_5XX"};
      n = std::snprintf(buf, sizeof buf, ",\"error_code\":\"%s\",\"fatal\":%s", codes[Pick(5)],
                        Pick(3) == 0 ? "true" : "false");
      out->append(buf, n);
    }
    if (!s.live.empty()) {
      out->append(",\"live_event_id\":\"").append(s.live).append("\"");
    }
    if (!s.experiments.empty()) out->append(",\"experiments\":").append(s.experiments);
    out->push_back('}');
  }

 private:
  static constexpr int kSessions = 20000;

  int Pick(int n) { return static_cast<int>(rng_() % static_cast<uint64_t>(n)); }

  template <size_t N>
  const char* Weighted(const std::pair<const char*, int> (&items)[N]) {
    int total = 0;
    for (auto& it : items) total += it.second;
    int r = Pick(total);
    for (auto& it : items) {
      if (r < it.second) return it.first;
      r -= it.second;
    }
    return items[0].first;
  }

  std::string_view PickType() {
    static const std::pair<const char*, int> types[] = {
        {"heartbeat", 780}, {"attempt", 30},      {"play_start", 28}, {"pause", 25},
        {"resume", 24},     {"seek", 20},         {"bitrate_change", 30},
        {"rebuffer_start", 12}, {"rebuffer_end", 12}, {"error", 4}, {"stop", 25}};
    return Weighted(types);
  }

  std::string Hex(int digits) {
    static const char* hex = "0123456789abcdef";
    std::string s(digits, '0');
    for (auto& c : s) c = hex[rng_() & 0xf];
    return s;
  }

  Session MakeSession() {
    static const std::pair<const char*, int> devices[] = {
        {"tv", 45}, {"mobile", 25}, {"web", 15}, {"tablet", 8}, {"console", 5}, {"other", 2}};
    static const std::pair<const char*, int> countries[] = {
        {"US", 30}, {"BR", 9}, {"GB", 7}, {"DE", 6}, {"IN", 8}, {"FR", 5}, {"MX", 5},
        {"CA", 4},  {"JP", 4}, {"ES", 3}, {"IT", 3}, {"KR", 3}, {"AU", 2}, {"NL", 2},
        {"PL", 2},  {"SE", 1}, {"AR", 2}, {"TR", 2}, {"ID", 2}};
    static const std::pair<const char*, int> cdns[] = {
        {"akamai", 35}, {"fastly", 20}, {"cloudfront", 25}, {"edge-oca", 15}, {"limelight", 5}};
    static const char* isps[] = {"Comcast Cable", "Charter Spectrum", "Verizon Fios",
                                 "AT&T Internet", "Vivo Fibra", "BT Broadband",
                                 "Deutsche Telekom", "Reliance Jio", "Orange", "Telmex",
                                 "Rogers", "NTT Docomo", "Movistar", "KT Corporation",
                                 "Telstra", "T-Mobile Home Internet"};
    static const int ladder[] = {235, 375, 560, 750, 1050, 1750, 2350, 3000, 4300, 5800, 8000,
                                 16000};
    Session s;
    s.id = Hex(8) + "-" + Hex(4) + "-4" + Hex(3) + "-a" + Hex(3) + "-" + Hex(12);
    s.profile = "prof_" + Hex(16);
    char title[32];
    std::snprintf(title, sizeof title, "tt%07d", Pick(60000) + Pick(40) * Pick(40));
    s.title = title;
    s.device = Weighted(devices);
    s.country = Weighted(countries);
    s.cdn = Weighted(cdns);
    const std::string& d = s.device;
    if (d == "tv") {
      static const char* os[] = {"tizen-7.0", "webos-23", "androidtv-12", "tvos-17.4",
                                 "roku-12.5", "fireos-7"};
      s.os = os[Pick(6)];
    } else if (d == "mobile" || d == "tablet") {
      static const char* os[] = {"ios-17.5.1", "android-14", "android-13", "ipados-17.5"};
      s.os = os[Pick(4)];
    } else if (d == "web") {
      static const char* os[] = {"windows-11/chrome-126", "macos-14/safari-17",
                                 "windows-10/edge-125", "linux/firefox-127"};
      s.os = os[Pick(4)];
    } else if (d == "console") {
      static const char* os[] = {"ps5-24.03", "xbox-series-10.0.25398"};
      s.os = os[Pick(2)];
    } else {
      s.os = "other";
    }
    char app[32];
    std::snprintf(app, sizeof app, "%d.%d.%d", 5 + Pick(2), Pick(20), Pick(10));
    s.app = app;
    if (Pick(10) < 7) s.isp = isps[Pick(16)];  // optional: not every client knows it
    if (Pick(20) == 0) s.live = "live-" + std::to_string(1000 + Pick(12));
    if (Pick(2) == 0) {
      s.experiments = "{\"exp_row_ranker_v" + std::to_string(2 + Pick(3)) + "\":\"" +
                      std::string(1, "ABC"[Pick(3)]) + "\"";
      if (Pick(2) == 0) {
        s.experiments += ",\"exp_autoplay_preview\":\"" +
                         std::string(Pick(2) ? "control" : "treatment") + "\"";
      }
      s.experiments += "}";
    }
    s.position_ms = static_cast<int64_t>(Pick(3600)) * 1000;
    s.bitrate = ladder[Pick(12)];
    return s;
  }

  std::mt19937_64 rng_;
  uint64_t nonce_;
  int64_t now_ms_;
  std::vector<Session> sessions_;
};

// A request body plus where its event ids sit (for re-stamping).
struct Body {
  std::string data;
  std::vector<uint32_t> id_offsets;
};

Body MakeBody(EventGen* gen, int batch, bool ndjson) {
  Body b;
  b.data.reserve(static_cast<size_t>(batch) * 400 + 16);
  b.id_offsets.reserve(batch);
  if (!ndjson) b.data.append("{\"events\":[");
  for (int i = 0; i < batch; ++i) {
    if (i > 0) b.data.push_back(ndjson ? '\n' : ',');
    size_t off;
    gen->Append(&b.data, &off);
    b.id_offsets.push_back(static_cast<uint32_t>(off));
  }
  b.data.append(ndjson ? "\n" : "]}");
  return b;
}

std::string Gzip(const std::string& in, int level) {
  z_stream zs{};
  if (deflateInit2(&zs, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) std::abort();
  std::string out(deflateBound(&zs, in.size()) + 32, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  if (deflate(&zs, Z_FINISH) != Z_STREAM_END) std::abort();
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

// ---------------------------------------------------------------- HTTP

class Conn {
 public:
  Conn(const Options& o) : o_(o) {}
  ~Conn() { Close(); }

  bool Connect() {
    Close();
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return false;
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    timeval tv{o_.timeout_ms / 1000, (o_.timeout_ms % 1000) * 1000};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(o_.port));
    if (::inet_pton(AF_INET, o_.host == "localhost" ? "127.0.0.1" : o_.host.c_str(),
                    &addr.sin_addr) != 1) {
      Close();
      return false;
    }
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      Close();
      return false;
    }
    rbuf_.clear();
    return true;
  }

  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  bool connected() const { return fd_ >= 0; }

  struct Response {
    int status = 0;  // 0: transport error
    int retry_after = -1;
    bool close = false;
    std::string body;
  };

  // Sends header + body and reads one response.
  Response RoundTrip(const std::string& header, const char* body, size_t len) {
    Response r;
    iovec iov[2] = {{const_cast<char*>(header.data()), header.size()},
                    {const_cast<char*>(body), len}};
    int idx = 0;
    while (idx < 2) {
      ssize_t n = ::writev(fd_, iov + idx, 2 - idx);
      if (n < 0) {
        if (errno == EINTR) continue;
        Close();
        return r;
      }
      size_t left = static_cast<size_t>(n);
      while (idx < 2 && left >= iov[idx].iov_len) {
        left -= iov[idx].iov_len;
        ++idx;
      }
      if (idx < 2) {
        iov[idx].iov_base = static_cast<char*>(iov[idx].iov_base) + left;
        iov[idx].iov_len -= left;
      }
    }
    // Header.
    size_t hend;
    while ((hend = rbuf_.find("\r\n\r\n")) == std::string::npos) {
      if (!Fill()) return r;
    }
    std::string_view head(rbuf_.data(), hend);
    if (head.size() < 12 || head.substr(0, 5) != "HTTP/") {
      Close();
      return r;
    }
    int status = std::atoi(rbuf_.c_str() + head.find(' ') + 1);
    int64_t content_length = -1;
    bool chunked = false;
    size_t pos = head.find("\r\n");
    while (pos != std::string_view::npos && pos < head.size()) {
      size_t next = head.find("\r\n", pos + 2);
      std::string_view line = head.substr(pos + 2, (next == std::string_view::npos ? head.size()
                                                                                    : next) -
                                                       pos - 2);
      size_t colon = line.find(':');
      if (colon != std::string_view::npos) {
        std::string name(line.substr(0, colon));
        for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        std::string_view v = line.substr(colon + 1);
        while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
        if (name == "content-length") {
          content_length = std::atoll(std::string(v).c_str());
        } else if (name == "transfer-encoding") {
          chunked = v.find("chunked") != std::string_view::npos;
        } else if (name == "connection") {
          r.close = v.find("close") != std::string_view::npos;
        } else if (name == "retry-after") {
          r.retry_after = std::atoi(std::string(v).c_str());
        }
      }
      pos = next;
    }
    rbuf_.erase(0, hend + 4);
    if (chunked) {
      for (;;) {
        size_t eol;
        while ((eol = rbuf_.find("\r\n")) == std::string::npos) {
          if (!Fill()) return r;
        }
        size_t size = std::strtoul(rbuf_.c_str(), nullptr, 16);
        while (rbuf_.size() < eol + 2 + size + 2) {
          if (!Fill()) return r;
        }
        r.body.append(rbuf_, eol + 2, size);
        rbuf_.erase(0, eol + 2 + size + 2);
        if (size == 0) break;  // (trailers are not supported; nobody sends them here)
      }
    } else if (content_length >= 0) {
      while (rbuf_.size() < static_cast<size_t>(content_length)) {
        if (!Fill()) return r;
      }
      r.body = rbuf_.substr(0, content_length);
      rbuf_.erase(0, content_length);
    } else {
      while (Fill()) {
      }
      r.body = std::move(rbuf_);
      rbuf_.clear();
      r.close = true;
    }
    r.status = status;
    if (r.close) Close();
    return r;
  }

 private:
  bool Fill() {
    char buf[16384];
    if (o_.quickack) {
      // Linux clears TCP_QUICKACK by itself, so it is set again before each
      // read. A server that writes a response in two pieces without
      // TCP_NODELAY otherwise waits for our delayed ACK (40 ms) between them.
      int one = 1;
      ::setsockopt(fd_, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
    }
    for (;;) {
      ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n > 0) {
        rbuf_.append(buf, n);
        return true;
      }
      if (n < 0 && errno == EINTR) continue;
      Close();
      return false;
    }
  }

  const Options& o_;
  int fd_ = -1;
  std::string rbuf_;
};

int64_t JsonInt(const std::string& body, const char* field) {
  std::string key = std::string("\"") + field + "\"";
  size_t p = body.find(key);
  if (p == std::string::npos) return -1;
  p = body.find(':', p + key.size());
  if (p == std::string::npos) return -1;
  return std::atoll(body.c_str() + p + 1);
}

// ---------------------------------------------------------------- the run

struct ThreadStats {
  int64_t requests_ok = 0;
  int64_t events_ok = 0;  // events in requests answered 200
  int64_t accepted = 0, duplicates = 0, rejected = 0;
  int64_t accepted_all = 0;  // also outside the measured window (warmup, tail)
  int64_t transport_errors = 0;
  int64_t reconnects = 0;
  int64_t retries = 0;
  int64_t wire_bytes = 0;  // request bodies as sent
  std::map<int, int64_t> non200;
  std::vector<uint32_t> latency_us;  // from the scheduled (rate) or actual (max) send
  std::vector<uint32_t> service_us;  // from the actual send
  std::vector<uint32_t> second;      // per latency_us entry: whole seconds since warmup end
  std::string first_error_body;
};

struct Shared {
  const Options* o;
  std::vector<Body> templates;          // json
  std::vector<std::string> gzip_bodies;  // gzip
  std::string header;                    // request header
  std::string header_prefix;             // header without Content-Length
  uint64_t nonce;
  int64_t start_ns, warm_ns, end_ns;
  double interval_ns;  // rate mode
  std::atomic<int64_t> next_req{0};
  std::atomic<int64_t> next_gzip{0};
  std::atomic<bool> exhausted{false};
  std::atomic<int64_t> last_ok_ns{0};
};

void SleepUntil(int64_t t_ns) {
  int64_t now = NowNs();
  if (t_ns <= now) return;
  // steady_clock is CLOCK_MONOTONIC on Linux.
  timespec ts{static_cast<time_t>(t_ns / 1000000000), static_cast<long>(t_ns % 1000000000)};
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) == EINTR) {
  }
}

void Worker(Shared* sh, int tid, ThreadStats* st) {
  const Options& o = *sh->o;
  Conn conn(o);
  // Connect before the start, so that connection setup (and a SYN dropped by
  // a short listen backlog) is not measured; failures are retried below.
  if (!conn.Connect()) ++st->transport_errors;
  SleepUntil(sh->start_ns);
  std::string header;
  const bool gzip = o.encoding == "gzip";
  // json: this connection's own copies of its share of the templates; only
  // the ids change between sends, so they are re-stamped in place.
  std::vector<Body> mine;
  if (!gzip) {
    const size_t T = sh->templates.size(), C = static_cast<size_t>(o.connections);
    for (size_t j = static_cast<size_t>(tid); j < T; j += C) mine.push_back(sh->templates[j]);
    if (mine.empty()) mine.push_back(sh->templates[static_cast<size_t>(tid) % T]);
  }
  size_t next_mine = 0;
  while (true) {
    int64_t due_ns;
    if (o.mode == "rate") {
      int64_t i = sh->next_req.fetch_add(1, std::memory_order_relaxed);
      due_ns = sh->start_ns + static_cast<int64_t>(static_cast<double>(i) * sh->interval_ns);
      if (due_ns >= sh->end_ns) break;
      SleepUntil(due_ns);
    } else {
      due_ns = NowNs();
      if (due_ns >= sh->end_ns) break;
    }
    const char* data;
    size_t len;
    if (gzip) {
      int64_t g = sh->next_gzip.fetch_add(1, std::memory_order_relaxed);
      if (g >= static_cast<int64_t>(sh->gzip_bodies.size())) {
        sh->exhausted = true;
        break;
      }
      data = sh->gzip_bodies[g].data();
      len = sh->gzip_bodies[g].size();
    } else {
      Body& t = mine[next_mine++ % mine.size()];
      uint64_t first = g_next_id.fetch_add(t.id_offsets.size(), std::memory_order_relaxed);
      // The body was last touched a whole round of bodies ago: fetch each
      // id's line a few ids ahead, so the writes do not wait on the misses.
      const size_t ids = t.id_offsets.size();
      for (size_t k = 0; k < ids; ++k) {
        if (k + 8 < ids) __builtin_prefetch(t.data.data() + t.id_offsets[k + 8], 1);
        WriteId(t.data.data() + t.id_offsets[k], sh->nonce, first + k);
      }
      data = t.data.data();
      len = t.data.size();
    }
    header = sh->header_prefix;
    header.append("Content-Length: ").append(std::to_string(len)).append("\r\n\r\n");
    // Send; in max mode a 503 or a broken connection is retried with the
    // same body (same ids: safe), in rate mode it is counted and dropped.
    for (;;) {
      if (!conn.connected()) {
        if (!conn.Connect()) {
          ++st->transport_errors;
          std::this_thread::sleep_for(std::chrono::milliseconds(50));
          if (NowNs() >= sh->end_ns + 5'000'000'000LL) return;
          continue;
        }
        ++st->reconnects;
      }
      int64_t send_ns = NowNs();
      Conn::Response r = conn.RoundTrip(header, data, len);
      int64_t done_ns = NowNs();
      bool counted = (o.mode == "rate" ? due_ns >= sh->warm_ns : done_ns >= sh->warm_ns) &&
                     done_ns <= sh->end_ns + (o.mode == "rate" ? 60'000'000'000LL : 0);
      if (r.status == 0) {
        ++st->transport_errors;
        if (o.mode == "rate" || done_ns >= sh->end_ns) break;
        continue;
      }
      if (counted) {
        st->wire_bytes += static_cast<int64_t>(len);
        st->latency_us.push_back(static_cast<uint32_t>(
            std::min<int64_t>((done_ns - due_ns) / 1000, UINT32_MAX)));
        st->service_us.push_back(static_cast<uint32_t>(
            std::min<int64_t>((done_ns - send_ns) / 1000, UINT32_MAX)));
        st->second.push_back(
            static_cast<uint32_t>(std::max<int64_t>(0, done_ns - sh->warm_ns) / 1'000'000'000));
      }
      if (r.status == 200) {
        int64_t a = JsonInt(r.body, "accepted");
        st->accepted_all += std::max<int64_t>(a, 0);
        if (counted) {
          ++st->requests_ok;
          st->events_ok += o.batch;
          int64_t d = JsonInt(r.body, "duplicates"), j = JsonInt(r.body, "rejected");
          st->accepted += std::max<int64_t>(a, 0);
          st->duplicates += std::max<int64_t>(d, 0);
          st->rejected += std::max<int64_t>(j, 0);
          if (j > 0 && st->first_error_body.empty()) st->first_error_body = r.body.substr(0, 400);
        }
        break;
      }
      if (counted) ++st->non200[r.status];
      if (st->first_error_body.empty()) {
        st->first_error_body = std::to_string(r.status) + " " + r.body.substr(0, 400);
      }
      if (o.mode == "max" && r.status >= 400 && r.status < 500 && r.status != 429) {
        return;  // a request the server will never take (auth, limits): stop this connection
      }
      if (o.mode == "rate" || (r.status != 503 && r.status != 429) || done_ns >= sh->end_ns) {
        break;
      }
      ++st->retries;
      int backoff = o.retry_backoff_ms;
      std::this_thread::sleep_for(std::chrono::milliseconds(backoff));
    }
  }
}

double Percentile(std::vector<uint32_t>& v, double p) {
  if (v.empty()) return 0;
  size_t k = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(v.size()))) - 1;
  k = std::min(k, v.size() - 1);
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return v[k] / 1000.0;
}

std::string LatencyJson(std::vector<uint32_t>& v) {
  char buf[256];
  double mx = v.empty() ? 0 : *std::max_element(v.begin(), v.end()) / 1000.0;
  double p50 = Percentile(v, 50), p90 = Percentile(v, 90), p99 = Percentile(v, 99),
         p999 = Percentile(v, 99.9);
  std::snprintf(buf, sizeof buf,
                "{\"p50\":%.3f,\"p90\":%.3f,\"p99\":%.3f,\"p999\":%.3f,\"max\":%.3f}", p50, p90,
                p99, p999, mx);
  return buf;
}

// [[second, requests, p99 ms, max ms], ...] over the measured window, by
// completion second: where in a run its tail came from.
std::string PerSecondJson(const std::vector<uint32_t>& latency_us,
                          const std::vector<uint32_t>& second) {
  std::map<uint32_t, std::vector<uint32_t>> by_second;
  for (size_t i = 0; i < latency_us.size(); ++i) by_second[second[i]].push_back(latency_us[i]);
  std::string out = "[";
  char buf[96];
  for (auto& [s, v] : by_second) {
    const double mx = *std::max_element(v.begin(), v.end()) / 1000.0;
    std::snprintf(buf, sizeof buf, "%s[%u,%zu,%.1f,%.1f]", out.size() > 1 ? "," : "", s, v.size(),
                  Percentile(v, 99), mx);
    out += buf;
  }
  return out + "]";
}

std::string JsonEscape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  Options o = ParseArgs(argc, argv);
  std::random_device rd;
  uint64_t seed = o.seed ? o.seed : (static_cast<uint64_t>(rd()) << 32) ^ rd();
  uint64_t nonce = SplitMix(seed ^ static_cast<uint64_t>(NowNs()));
  if (o.seed == 0) nonce ^= (static_cast<uint64_t>(rd()) << 32) ^ rd();
  EventGen gen(seed, nonce);

  if (!o.dump_events.empty()) {
    int64_t n = o.events > 0 ? o.events : 100000;
    FILE* f = std::fopen(o.dump_events.c_str(), "w");
    if (!f) Usage("cannot open the --dump-events file");
    std::string line;
    int64_t bytes = 0;
    for (int64_t i = 0; i < n; ++i) {
      line.clear();
      size_t off;
      gen.Append(&line, &off);
      bytes += static_cast<int64_t>(line.size());
      line.push_back('\n');
      std::fwrite(line.data(), 1, line.size(), f);
    }
    std::fclose(f);
    std::printf("{\"events\":%" PRId64 ",\"mean_event_bytes\":%.1f}\n", n,
                static_cast<double>(bytes) / static_cast<double>(n));
    return 0;
  }

  Shared sh;
  sh.o = &o;
  sh.nonce = nonce;
  const bool ndjson = o.format == "ndjson";
  int64_t t_build = NowNs();
  double raw_bytes_per_event = 0;
  if (o.encoding == "json") {
    for (int i = 0; i < o.templates; ++i) sh.templates.push_back(MakeBody(&gen, o.batch, ndjson));
    size_t total = 0;
    for (auto& t : sh.templates) total += t.data.size();
    raw_bytes_per_event = static_cast<double>(total) / (static_cast<double>(o.templates) * o.batch);
  } else {
    int64_t events = o.events;
    if (events <= 0) {
      events = o.mode == "rate" ? static_cast<int64_t>(o.rate * o.duration_s * 1.05) + o.batch
                                : 3'000'000;
    }
    int64_t nbodies = (events + o.batch - 1) / o.batch;
    sh.gzip_bodies.resize(nbodies);
    // Each thread makes and compresses its own share (its own sessions),
    // so only the compressed bodies are ever held in memory.
    unsigned nthreads = std::max(1u, std::thread::hardware_concurrency());
    std::vector<size_t> raw_total(nthreads, 0);
    std::vector<std::thread> zt;
    for (unsigned t = 0; t < nthreads; ++t) {
      zt.emplace_back([&, t] {
        EventGen tgen(seed + 1000003 * (t + 1), nonce);
        for (int64_t i = t; i < nbodies; i += nthreads) {
          Body b = MakeBody(&tgen, o.batch, ndjson);
          raw_total[t] += b.data.size();
          sh.gzip_bodies[i] = Gzip(b.data, o.gzip_level);
        }
      });
    }
    for (auto& t : zt) t.join();
    size_t total = 0;
    for (size_t r : raw_total) total += r;
    raw_bytes_per_event = static_cast<double>(total) / static_cast<double>(nbodies * o.batch);
  }
  double build_s = static_cast<double>(NowNs() - t_build) / 1e9;
  double build_cpu_s;
  {
    rusage ru{};
    ::getrusage(RUSAGE_SELF, &ru);
    build_cpu_s = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                  static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
  }
  std::fprintf(stderr, "ingest_load: built %s bodies in %.1f s (%.0f bytes/event raw)\n",
               o.encoding.c_str(), build_s, raw_bytes_per_event);

  sh.header_prefix = "POST /v1/events HTTP/1.1\r\nHost: " + o.host + ":" +
                     std::to_string(o.port) + "\r\nAuthorization: Bearer " + o.key +
                     "\r\nContent-Type: " +
                     (ndjson ? "application/x-ndjson" : "application/json") + "\r\n" +
                     (o.encoding == "gzip" ? "Content-Encoding: gzip\r\n" : "");

  sh.interval_ns = o.mode == "rate" ? 1e9 * o.batch / o.rate : 0;
  sh.start_ns = NowNs() + 300'000'000;  // let the threads start and connect first
  sh.warm_ns = sh.start_ns + static_cast<int64_t>(o.warmup_s * 1e9);
  sh.end_ns = sh.start_ns + static_cast<int64_t>(o.duration_s * 1e9);

  std::vector<ThreadStats> stats(o.connections);
  std::vector<std::thread> threads;
  for (int t = 0; t < o.connections; ++t) {
    threads.emplace_back([&, t] { Worker(&sh, t, &stats[t]); });
  }
  for (auto& t : threads) t.join();
  int64_t finished_ns = NowNs();

  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  double client_cpu_s = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                        static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6 -
                        build_cpu_s;
  ThreadStats all;
  for (auto& s : stats) {
    all.requests_ok += s.requests_ok;
    all.events_ok += s.events_ok;
    all.accepted += s.accepted;
    all.accepted_all += s.accepted_all;
    all.duplicates += s.duplicates;
    all.rejected += s.rejected;
    all.transport_errors += s.transport_errors;
    all.reconnects += s.reconnects;
    all.retries += s.retries;
    all.wire_bytes += s.wire_bytes;
    for (auto& [k, v] : s.non200) all.non200[k] += v;
    all.latency_us.insert(all.latency_us.end(), s.latency_us.begin(), s.latency_us.end());
    all.service_us.insert(all.service_us.end(), s.service_us.begin(), s.service_us.end());
    all.second.insert(all.second.end(), s.second.begin(), s.second.end());
    if (all.first_error_body.empty()) all.first_error_body = s.first_error_body;
  }
  // The measured window: warmup end → end of schedule (rate), or → the
  // moment the last request was answered (max; earlier if gzip ran out).
  double window_s;
  if (o.mode == "rate") {
    window_s = static_cast<double>(sh.end_ns - sh.warm_ns) / 1e9;
  } else {
    window_s = static_cast<double>(std::min(finished_ns, sh.end_ns) - sh.warm_ns) / 1e9;
  }
  int64_t non200_total = 0;
  std::string non200 = "{";
  for (auto& [k, v] : all.non200) {
    if (non200.size() > 1) non200 += ",";
    non200.append("\"").append(std::to_string(k)).append("\":").append(std::to_string(v));
    non200_total += v;
  }
  non200 += "}";
  const std::string per_second = PerSecondJson(all.latency_us, all.second);  // before the sort
  std::string lat = LatencyJson(all.latency_us);
  std::string svc = LatencyJson(all.service_us);
  if (window_s <= 0) window_s = 1e-9;
  double eps = static_cast<double>(all.accepted) / window_s;
  std::printf(
      "{\"mode\":\"%s\",\"encoding\":\"%s\",\"format\":\"%s\",\"connections\":%d,\"batch\":%d,"
      "\"duration_s\":%.2f,\"warmup_s\":%.2f,\"window_s\":%.3f,\"target_rate\":%.0f,"
      "\"events_per_s\":%.0f,\"requests_per_s\":%.1f,\"events_ok\":%" PRId64
      ",\"accepted\":%" PRId64 ",\"accepted_all\":%" PRId64 ",\"duplicates\":%" PRId64 ",\"rejected\":%" PRId64
      ",\"requests_ok\":%" PRId64 ",\"non200\":%s,\"non200_total\":%" PRId64
      ",\"transport_errors\":%" PRId64 ",\"reconnects\":%" PRId64 ",\"retries\":%" PRId64
      ",\"latency_ms\":%s,\"service_latency_ms\":%s,\"raw_bytes_per_event\":%.1f,"
      "\"wire_bytes_per_event\":%.1f,\"wire_mb_per_s\":%.1f,\"gzip_exhausted\":%s,"
      "\"build_s\":%.1f,\"client_cpu_cores\":%.2f,\"per_second\":%s,\"first_error\":\"%s\"}\n",
      o.mode.c_str(), o.encoding.c_str(), o.format.c_str(), o.connections, o.batch, o.duration_s,
      o.warmup_s, window_s, o.rate, eps, static_cast<double>(all.requests_ok) / window_s,
      all.events_ok, all.accepted, all.accepted_all, all.duplicates, all.rejected, all.requests_ok,
      non200.c_str(), non200_total, all.transport_errors, all.reconnects, all.retries,
      lat.c_str(), svc.c_str(), raw_bytes_per_event,
      all.requests_ok + non200_total
          ? static_cast<double>(all.wire_bytes) /
                static_cast<double>((all.requests_ok + non200_total) * o.batch)
          : 0.0,
      static_cast<double>(all.wire_bytes) / window_s / 1e6, sh.exhausted ? "true" : "false",
      build_s, client_cpu_s / (static_cast<double>(finished_ns - sh.start_ns) / 1e9),
      per_second.c_str(), JsonEscape(all.first_error_body).c_str());
  return 0;
}
