#include "tools/pipeline_server.h"

#include <httplib.h>
#include <sys/socket.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <thread>

#include "api/dead_letter_routes.h"
#include "api/events_body_route.h"
#include "api/lookup_http_server.h"
#include "api/read_auth.h"
#include "api/service_routes.h"
#include "common/clock.h"
#include "common/env.h"
#include "common/metrics.h"
#include "common/thread_sched.h"
#include "ingest/collector_routes.h"
#include "log/file_log.h"
#include "tools/modules.h"

namespace viewpipe::tools {

struct PipelineServer::Impl {
  ServerConfig config;
  MetricsRegistry metrics;
  ServiceState state;
  std::unique_ptr<Log> log;
  FileLog* file_log = nullptr;  // log, when it is a FileLog (retention)
  std::unique_ptr<Collector> collector;
  std::vector<std::unique_ptr<ServerModule>> modules;  // all, owned (modules may point at others)
  std::vector<ServerModule*> running;                   // the ones --paths selected, started
  httplib::Server http;
  int port = 0;
  std::unique_ptr<EventsBodyRoute> events_route;
  std::unique_ptr<LookupHttpServer> fast;  // when config.fast_port >= 0
  std::thread http_thread;
  std::thread housekeeping;
  std::mutex mu;
  std::condition_variable stop_cv;
  bool stopping = false;
  bool started = false;

  Status OpenLog();
  void MakeFastServer();
  Status StartFastServer();
  void RegisterLogMetrics();
  void Housekeeping();
};

PipelineServer::PipelineServer(ServerConfig config) : impl_(new Impl) {
  impl_->config = std::move(config);
}

PipelineServer::~PipelineServer() { Stop(); }

Status PipelineServer::Impl::OpenLog() {
  if (config.log_backend == "kafka") {
    config.kafka.topics = {{std::string(kTopicViewing), config.log_partitions_viewing},
                           {std::string(kTopicQoe), config.log_partitions_qoe},
                           {std::string(kTopicDeadLetters), 1}};
    auto kafka = KafkaLog::Open(config.kafka);
    if (!kafka.ok()) return kafka.status();
    log = std::move(kafka).value();
    spdlog::info("log: kafka at {}", config.kafka.brokers);
    return Status::OK();
  }
  FileLogOptions o;
  o.dir = JoinPath(config.data_dir, "log");
  o.env = Env::Default();
  o.clock = Clock::System();
  o.metrics = &metrics;
  o.topics = {{std::string(kTopicViewing), config.log_partitions_viewing},
              {std::string(kTopicQoe), config.log_partitions_qoe},
              {std::string(kTopicDeadLetters), 1}};
  o.segment_bytes = config.log_segment_bytes;
  o.retention_ms = config.log_retention_ms;
  o.retention_bytes = config.log_retention_bytes;
  o.page_cache_bytes = static_cast<uint64_t>(config.log_page_cache_bytes);
  o.max_pending_bytes = config.log_max_pending_bytes;
  o.min_free_bytes = config.log_min_free_bytes;
  VP_RETURN_IF_ERROR(Env::Default()->CreateDirs(o.dir));
  RecoveryReport report;
  auto opened = FileLog::Open(o, &report);
  if (!opened.ok()) return opened.status();
  file_log = opened->get();
  log = std::move(opened).value();
  if (!report.Clean()) spdlog::warn("log recovery: {}", report.ToString());
  return Status::OK();
}

void PipelineServer::Impl::MakeFastServer() {
  if (config.fast_port < 0) return;
  LookupServerOptions o;
  o.host = config.host;
  o.port = config.fast_port;
  o.threads = config.fast_threads;
  o.body_threads = config.fast_body_threads;
  o.read_tokens = config.read_tokens;
  o.idle_timeout = std::chrono::milliseconds(config.fast_idle_timeout_ms);
  o.read_timeout = std::chrono::milliseconds(config.fast_read_timeout_ms);
  o.write_timeout = std::chrono::milliseconds(config.fast_write_timeout_ms);
  o.max_connections = static_cast<size_t>(config.fast_max_connections);
  o.metrics = &metrics;
  o.metrics_port = "fast";
  fast = std::make_unique<LookupHttpServer>(o);
  if (collector) {
    events_route = std::make_unique<EventsBodyRoute>(collector.get());
    fast->AddBodyRoute("/v1/events", events_route.get());
  }
}

Status PipelineServer::Impl::StartFastServer() {
  if (!fast) return Status::OK();
  VP_RETURN_IF_ERROR(fast->Start());
  spdlog::info("fast port: POST /v1/events and GET lookups on http://{}:{} ({} loops, {} workers)",
               config.host, fast->port(), config.fast_threads, config.fast_body_threads);
  return Status::OK();
}

void PipelineServer::Impl::RegisterLogMetrics() {
  Log* l = log.get();
  metrics.AddSampler("viewpipe_consumer_lag", "Records a consumer group has yet to process",
                     MetricsRegistry::Type::kGauge, [l] {
                       std::vector<std::pair<Labels, double>> out;
                       for (const GroupLag& g : l->Lags()) {
                         out.push_back({{{"group", g.group},
                                         {"topic", g.topic},
                                         {"partition", std::to_string(g.partition)}},
                                        static_cast<double>(g.end - g.committed)});
                       }
                       return out;
                     });
  metrics.AddSampler("viewpipe_log_size_bytes", "Bytes the durable log holds on disk",
                     MetricsRegistry::Type::kGauge, [l] {
                       return std::vector<std::pair<Labels, double>>{
                           {{}, static_cast<double>(l->SizeBytes())}};
                     });
}

void PipelineServer::Impl::Housekeeping() {
  std::unique_lock<std::mutex> lock(mu);
  while (!stop_cv.wait_for(lock, std::chrono::seconds(30), [this] { return stopping; })) {
    lock.unlock();
    auto deleted = file_log != nullptr ? file_log->EnforceRetention() : Result<int>(0);
    if (!deleted.ok()) spdlog::error("log retention: {}", deleted.status().ToString());
    lock.lock();
  }
}

Status PipelineServer::Start() {
  Impl& m = *impl_;
  SetPipelineThreadSched({.nice_delta = m.config.pipeline_nice});  // before any runner starts
  VP_RETURN_IF_ERROR(m.OpenLog());
  m.RegisterLogMetrics();
  if (m.config.collector_enabled) {
    m.collector = std::make_unique<Collector>(m.log.get(), Clock::System(), &m.metrics,
                                              m.config.collector);
  }
  const int threads = m.config.http_threads;
  m.http.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  m.http.set_keep_alive_max_count(100000);
  // Without TCP_NODELAY a response's body waits ~40 ms for the client's
  // delayed ACK of its head (bench/README.md).
  m.http.set_tcp_nodelay(true);
  // SO_REUSEADDR only: httplib's default also sets SO_REUSEPORT, which lets a
  // second server silently share the port and answer half the requests.
  m.http.set_socket_options([](int sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  m.http.set_read_timeout(30, 0);
  InstallReadAuth(&m.http, m.config.read_tokens);
  RegisterServiceRoutes(&m.http, &m.state, &m.metrics);
  if (m.collector) {
    RegisterCollectorRoutes(&m.http, m.collector.get());
    RegisterDeadLetterRoutes(&m.http, m.log.get());
  }
  ModuleContext ctx{m.log.get(), &m.metrics, &m.http, Clock::System(), m.config.data_dir,
                    m.config.web_root,
                    m.config.catalog_path.empty() ? m.config.data_dir + "/catalog.csv"
                                                  : m.config.catalog_path};
  ctx.host = m.config.host;
  ctx.read_tokens = m.config.read_tokens;
  m.MakeFastServer();
  ctx.fast_http = m.fast.get();
  m.modules = MakeModules(m.config);
  Result<std::vector<ServerModule*>> selected = SelectModules(m.modules, m.config.paths);
  if (!selected.ok()) return selected.status();
  m.running = std::move(*selected);
  for (ServerModule* module : m.running) {
    Status st = module->Start(ctx);
    if (!st.ok()) return Status::Aborted("module " + module->name() + ": " + st.ToString());
  }
  VP_RETURN_IF_ERROR(m.StartFastServer());  // after the modules added their lookups
  if (m.config.port == 0) {
    m.port = m.http.bind_to_any_port(m.config.host);
  } else if (m.http.bind_to_port(m.config.host, m.config.port)) {
    m.port = m.config.port;
  }
  if (m.port <= 0) {
    return Status::IOError("cannot listen on " + m.config.host + ":" +
                           std::to_string(m.config.port));
  }
  m.http_thread = std::thread([&m] { m.http.listen_after_bind(); });
  m.started = true;
  // /healthz answers while recovery runs; /readyz and /v1/events wait for it.
  if (m.collector) {
    int64_t t0 = Clock::System()->MonotonicMicros();
    VP_RETURN_IF_ERROR(m.collector->Recover());
    spdlog::info("recovery done in {} ms ({} event ids in the dedup window)",
                 (Clock::System()->MonotonicMicros() - t0) / 1000, m.collector->dedup().Size());
    m.collector->SetReady(true);
  }
  m.state.ready = true;
  m.housekeeping = std::thread([&m] { m.Housekeeping(); });
  return Status::OK();
}

void PipelineServer::Stop() {
  Impl& m = *impl_;
  if (!m.started) return;
  m.started = false;
  m.state.ready = false;
  m.http.stop();
  if (m.http_thread.joinable()) m.http_thread.join();
  if (m.fast) m.fast->Stop();
  {
    std::lock_guard<std::mutex> lock(m.mu);
    m.stopping = true;
  }
  m.stop_cv.notify_all();
  if (m.housekeeping.joinable()) m.housekeeping.join();
  for (auto it = m.running.rbegin(); it != m.running.rend(); ++it) (*it)->Stop();
  m.running.clear();
  m.modules.clear();
  m.fast.reset();
  m.events_route.reset();
  m.collector.reset();
  m.file_log = nullptr;
  m.log.reset();
}

int PipelineServer::port() const { return impl_->port; }

int PipelineServer::fast_port() const { return impl_->fast ? impl_->fast->port() : 0; }

std::string PipelineServer::url() const {
  return "http://" + impl_->config.host + ":" + std::to_string(impl_->port);
}

}  // namespace viewpipe::tools
