#include "sim/simulator.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <queue>
#include <thread>

#include "common/clock.h"
#include "sim/generator.h"

namespace viewpipe::sim {
namespace {

int64_t MonoMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Where finished batches go: the HTTP sender or an NDJSON file.
class BatchSink {
 public:
  virtual ~BatchSink() = default;
  virtual bool Put(OutBatch batch) = 0;
};

class SenderSink : public BatchSink {
 public:
  explicit SenderSink(HttpSender* sender) : sender_(sender) {}
  bool Put(OutBatch batch) override { return sender_->Enqueue(std::move(batch)); }

 private:
  HttpSender* sender_;
};

class FileSink : public BatchSink {
 public:
  explicit FileSink(std::FILE* f) : f_(f) {}
  bool Put(OutBatch batch) override {
    return std::fwrite(batch.body.data(), 1, batch.body.size(), f_) == batch.body.size();
  }

 private:
  std::FILE* f_;
};

}  // namespace

// Routes events to lanes (one per client connection's worth of players),
// holds the events of offline devices, and cuts lanes into batches.
class Simulator::Router : public EventSink {
 public:
  Router(const Generator* gen, const SimOptions& o, BatchSink* sink, bool file_mode)
      : gen_(gen), options_(o), sink_(sink), lanes_(static_cast<size_t>(std::max(1, o.lanes))) {
    for (size_t i = 0; i < lanes_.size(); ++i) lanes_[i].ndjson = file_mode || i % 2 == 0;
    duplicates_enabled_ = !file_mode;
  }

  void OnEvent(const SimEvent& e) override {
    const bool valid = e.malformed == Malformed::kNone;
    if (valid && gen_->timeline().HasLateDelivery()) {
      auto off = gen_->timeline().OfflineWindow(e.session_seq);
      if (off && e.ts_ms >= off->start && e.ts_ms < off->end) {
        Held h{off->end, held_seq_++, valid, {}};
        gen_->writer().Append(e, &h.json);
        held_.push(std::move(h));
        return;
      }
    }
    Lane& lane = LaneFor(e.session_seq);
    BeginEvent(lane, valid);
    gen_->writer().Append(e, &lane.body);
    EndEvent(lane);
  }

  // Devices whose offline window ended by `sim_ms` send what they held.
  void Release(int64_t sim_ms) {
    while (!held_.empty() && held_.top().release <= sim_ms) {
      const Held& h = held_.top();
      Lane& lane = lanes_[h.seq % lanes_.size()];
      BeginEvent(lane, h.valid);
      lane.body += h.json;
      EndEvent(lane);
      ++released_late_;
      held_.pop();
    }
  }

  void FlushDue(int64_t wall_ms) {
    for (Lane& lane : lanes_) {
      if (lane.events > 0 && wall_ms - lane.first_wall_ms >= options_.batch_wall_ms) Flush(lane);
    }
  }
  void FlushAll() {
    for (Lane& lane : lanes_) {
      if (lane.events > 0) Flush(lane);
    }
  }

  uint64_t held() const { return held_.size(); }
  uint64_t released_late() const { return released_late_; }
  uint64_t duplicate_batches() const { return duplicate_batches_; }
  bool sink_failed() const { return sink_failed_; }

 private:
  struct Lane {
    std::string body;
    bool ndjson = true;
    uint32_t events = 0;
    uint32_t valid = 0;
    int64_t first_wall_ms = 0;
  };
  struct Held {
    int64_t release;
    uint64_t seq;
    bool valid;
    std::string json;
    bool operator>(const Held& o) const {
      return release != o.release ? release > o.release : seq > o.seq;
    }
  };

  Lane& LaneFor(uint64_t session_seq) { return lanes_[Mix64(session_seq) % lanes_.size()]; }

  void BeginEvent(Lane& lane, bool valid) {
    if (lane.events == 0) {
      lane.first_wall_ms = MonoMs();
      if (!lane.ndjson) lane.body = "{\"events\":[";
    } else if (!lane.ndjson) {
      lane.body += ',';
    }
    ++lane.events;
    lane.valid += valid ? 1 : 0;
  }
  void EndEvent(Lane& lane) {
    if (lane.ndjson) lane.body += '\n';
    if (lane.events >= options_.batch_events) Flush(lane);
  }

  void Flush(Lane& lane) {
    if (!lane.ndjson) lane.body += "]}";
    OutBatch b;
    b.body = std::move(lane.body);
    b.ndjson = lane.ndjson;
    b.events = lane.events;
    b.valid_events = lane.valid;
    if (duplicates_enabled_) {
      Rng rng(Hash64(gen_->run_key(), 0x44555053ULL, batch_seq_++));
      b.send_twice = rng.Chance(gen_->timeline().DuplicateFraction(gen_->frontier()));
      duplicate_batches_ += b.send_twice ? 1 : 0;
    }
    lane.body.clear();
    lane.body.reserve(options_.batch_events * 480);
    lane.events = lane.valid = 0;
    if (!sink_->Put(std::move(b))) sink_failed_ = true;
  }

  const Generator* gen_;
  const SimOptions& options_;
  BatchSink* sink_;
  std::vector<Lane> lanes_;
  std::priority_queue<Held, std::vector<Held>, std::greater<Held>> held_;
  uint64_t held_seq_ = 0;
  uint64_t released_late_ = 0;
  uint64_t batch_seq_ = 0;
  uint64_t duplicate_batches_ = 0;
  bool duplicates_enabled_ = true;
  bool sink_failed_ = false;
};

using FilePtr = std::unique_ptr<std::FILE, int (*)(std::FILE*)>;

namespace {

Status WriteCatalog(const Generator& gen, const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return Status::FromErrno(errno, path);
  const std::string csv = gen.catalog().ToCsv();
  const bool ok = std::fwrite(csv.data(), 1, csv.size(), f) == csv.size();
  if (std::fclose(f) != 0 || !ok) return Status::IOError("cannot write " + path);
  return Status::OK();
}

// Opens the truth file, writes the scenario's windows and routes the
// generator's truth lines to it.
Status OpenTruth(Generator* gen, const std::string& path, FilePtr* file) {
  file->reset(std::fopen(path.c_str(), "wb"));
  if (!*file) return Status::FromErrno(errno, path);
  std::FILE* f = file->get();
  const std::string windows = gen->timeline().DescribeWindows(gen->catalog());
  std::fwrite(windows.data(), 1, windows.size(), f);
  // Whole lines, flushed: the truth can be tailed while the run goes on.
  gen->EnableTruth([f](std::string_view line) {
    std::fwrite(line.data(), 1, line.size(), f);
    std::fflush(f);
  });
  return Status::OK();
}

}  // namespace

Simulator::Simulator(SimOptions options) : options_(std::move(options)) {}
Simulator::~Simulator() = default;

void Simulator::Stop() { stop_ = true; }

SimProgress Simulator::progress() const {
  std::lock_guard<std::mutex> lock(progress_mu_);
  return progress_;
}

void Simulator::Publish(const Generator& gen, const Router& router, const HttpSender* sender,
                        int64_t wall_elapsed_ms, int64_t scheduled_ms) {
  const Generator::Stats gs = gen.stats();
  SimProgress p;
  p.sim_time_ms = gen.frontier();
  p.wall_elapsed_ms = wall_elapsed_ms;
  if (gen.end_ms() > 0) scheduled_ms = std::min(scheduled_ms, gen.end_ms());
  p.lag_ms = options_.speed > 0 ? std::max<int64_t>(0, scheduled_ms - gen.frontier()) : 0;
  p.target_viewers = gs.target_viewers;
  p.open_sessions = gs.open_sessions;
  p.sessions = gs.sessions;
  p.generated = gs.events;
  p.malformed = gs.malformed;
  p.held = router.held();
  p.released_late = router.released_late();
  p.duplicate_batches = router.duplicate_batches();
  if (sender != nullptr) p.sender = sender->stats();
  {
    std::lock_guard<std::mutex> lock(progress_mu_);
    progress_ = p;
  }
  if (options_.on_progress) options_.on_progress(p);
}

Status Simulator::Run() {
  const SimOptions& o = options_;
  const bool fast = o.speed > 1.0 || o.speed <= 0;
  if (o.duration_ms <= 0 && fast) {
    return Status::InvalidArgument(
        "an endless run (duration 0) must not run faster than real time: its events would "
        "lie in the future");
  }
  if (o.batch_events == 0 || o.batch_events > 1000) {
    return Status::InvalidArgument("batch size must be 1-1000 events");
  }
  GeneratorOptions g;
  g.seed = o.seed;
  g.duration_ms = o.duration_ms;
  g.viewers = o.viewers;
  // Faster than real time, the run ends at about now, so no event lies in
  // the future; otherwise it starts now.
  const int64_t now = Clock::System()->NowMs();
  g.start_ms = o.start_ms ? *o.start_ms : fast ? now - o.duration_ms : now;
  auto created = Generator::Create(o.scenario, g);
  if (!created.ok()) return created.status();
  Generator& gen = **created;
  start_ms_ = gen.start_ms();
  if (!o.catalog_path.empty()) VP_RETURN_IF_ERROR(WriteCatalog(gen, o.catalog_path));
  FilePtr truth(nullptr, &std::fclose);
  if (!o.truth_path.empty()) VP_RETURN_IF_ERROR(OpenTruth(&gen, o.truth_path, &truth));

  FilePtr out(nullptr, &std::fclose);
  std::unique_ptr<HttpSender> sender;
  std::unique_ptr<BatchSink> sink;
  const bool file_mode = !o.out_path.empty();
  if (file_mode) {
    std::FILE* f = o.out_path == "-" ? stdout : std::fopen(o.out_path.c_str(), "wb");
    if (f == nullptr) return Status::FromErrno(errno, o.out_path);
    if (f != stdout) out.reset(f);
    sink = std::make_unique<FileSink>(f);
  } else {
    sender = std::make_unique<HttpSender>(o.sender);
    sender->Start();
    sink = std::make_unique<SenderSink>(sender.get());
  }
  Router router(&gen, o, sink.get(), file_mode);
  Status result = Pace(&gen, &router, sender.get());

  // Offline devices come back at the end and send what they held.
  router.Release(std::numeric_limits<int64_t>::max());
  router.FlushAll();
  gen.FlushTruth();
  if (sender) {
    sender->Stop(stop_ ? std::min<int64_t>(o.drain_ms, 3000) : o.drain_ms);
    if (result.ok() && sender->unauthorized()) {
      result = Status::InvalidArgument("the collector refused the write key (401): " +
                                       sender->last_error());
    }
  }
  std::fflush(out ? out.get() : stdout);
  Publish(gen, router, sender.get(), MonoMs() - wall0_, gen.frontier());
  return result;
}

// Generates in slices, keeping the simulated clock at start + elapsed wall
// time x speed (or as fast as the sink takes events), within the rate cap.
Status Simulator::Pace(Generator* gen, Router* router, HttpSender* sender) {
  const SimOptions& o = options_;
  wall0_ = MonoMs();
  // The wall time the schedule counts from. A live run (real time from
  // now) stamps its events with the wall clock: its start is floored to a
  // whole second and the setup took a while, so the schedule begins that
  // far back (the events of that time go out at once). Before, every event
  // was up to 1 s older than the clock, and the SRE bench counted that
  // second as detection latency.
  int64_t schedule0 = wall0_;
  if (o.speed == 1.0 && !o.start_ms) {
    schedule0 -= std::max<int64_t>(0, Clock::System()->NowMs() - gen->start_ms());
  }
  int64_t last_wall = wall0_;
  int64_t next_progress = wall0_ + 1000;
  double tokens = 0;
  while (!stop_ && !gen->done()) {
    const int64_t wall = MonoMs();
    const int64_t target =
        o.speed <= 0
            ? std::numeric_limits<int64_t>::max() - 1
            : gen->start_ms() + static_cast<int64_t>(static_cast<double>(wall - schedule0) * o.speed);
    size_t budget = 20000;  // per slice, so lanes flush on time
    if (o.rate > 0) {
      tokens = std::min(tokens + o.rate * static_cast<double>(wall - last_wall) / 1000.0, o.rate);
      budget = static_cast<size_t>(std::max(0.0, tokens));
    }
    last_wall = wall;
    const size_t n = gen->Generate(target + 1, budget, router);
    tokens -= static_cast<double>(n);
    router->Release(gen->frontier());
    router->FlushDue(MonoMs());
    gen->FlushTruth();
    if (router->sink_failed()) {
      return Status::IOError(o.out_path.empty() ? "the sender stopped"
                                                : "cannot write " + o.out_path);
    }
    if (sender != nullptr && sender->unauthorized()) {
      return Status::InvalidArgument("the collector refused the write key (401): " +
                                     sender->last_error());
    }
    if (wall >= next_progress) {
      next_progress = wall + 1000;
      Publish(*gen, *router, sender, wall - wall0_, target);
    }
    if (n < budget || budget == 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return Status::OK();
}

}  // namespace viewpipe::sim
