#include "sregroup/sre_group_module.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <condition_variable>
#include <cstdlib>
#include <random>
#include <thread>

#include "common/env.h"
#include "common/env_knob.h"
#include "lake/local_object_store.h"
#include "partgroup/group_members.h"
#include "sre/sre_module.h"
#include "sregroup/group_detector.h"
#include "sregroup/merged_qoe.h"
#include "sregroup/sre_group_processor.h"
#include "sregroup/sre_group_routes.h"
#include "stream/consumer_runner.h"

namespace viewpipe::sre {
namespace {

constexpr auto kHeartbeat = std::chrono::milliseconds(1000);
constexpr auto kDetectorCycle = std::chrono::milliseconds(200);

std::string NewInstanceId() {
  char host[64] = {};
  ::gethostname(host, sizeof(host) - 1);
  std::random_device rd;
  return std::string(host) + "-" + std::to_string(::getpid()) + "-" + std::to_string(rd() % 100000);
}

class SreGroupModule final : public ServerModule {
 public:
  ~SreGroupModule() override { Stop(); }
  std::string name() const override { return "sre"; }
  Status Start(const ModuleContext& ctx) override;
  void Stop() override;

 private:
  Status OpenStore(const ModuleContext& ctx);
  std::unique_ptr<GroupDetector> MakeDetector(const ModuleContext& ctx, const SreOptions& o);
  // Runs fn every period until Stop.
  void Every(std::chrono::milliseconds period, const std::function<void()>& fn);

  std::shared_ptr<ObjectStore> store_;
  std::unique_ptr<SreShards> shards_;
  std::unique_ptr<SreShardCheckpoints> checkpoints_;
  std::unique_ptr<partgroup::GroupMembers> members_;
  std::unique_ptr<MergedQoe> merged_;
  std::unique_ptr<SreGroupRoutes> routes_;
  std::unique_ptr<GroupDetector> detector_;
  std::unique_ptr<SreGroupProcessor> processor_;
  std::unique_ptr<ConsumerRunner> runner_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread heartbeat_, detecting_;
};

Status SreGroupModule::OpenStore(const ModuleContext& ctx) {
  const SreGroupOptions& g = SreGroupServeOptions();
  store_ = g.state_store;
  if (store_ != nullptr) return Status::OK();
  const std::string dir =
      g.state_dir.empty() ? JoinPath(JoinPath(ctx.data_dir, "sre"), "shared") : g.state_dir;
  VP_RETURN_IF_ERROR(Env::Default()->CreateDirs(dir));
  store_ = std::make_shared<LocalObjectStore>(Env::Default(), dir);
  return Status::OK();
}

std::unique_ptr<GroupDetector> SreGroupModule::MakeDetector(const ModuleContext& ctx,
                                                           const SreOptions& o) {
  GroupDetectorDeps d;
  d.store = store_.get();
  d.env = Env::Default();
  d.local_dir = JoinPath(ctx.data_dir, "sre");
  d.clock = ctx.clock;
  d.metrics = ctx.metrics;
  d.log = ctx.log;
  const std::string auth = ctx.read_tokens.empty() ? "" : "Bearer " + ctx.read_tokens.front();
  d.gather = [this, auth](const PartialQuery& q) { return merged_->Gather(q, auth); };
  d.is_detector = [this] {
    return shards_->Read([](const SreShards::Map& m) { return m.count(0) > 0; });
  };
  if (const char* url = std::getenv("VIEWPIPE_SRE_WEBHOOK_URL"); url != nullptr && *url != '\0') {
    WebhookOptions wo;
    wo.url = url;
    d.webhook = wo;
  }
  d.instance = members_->instance();
  return std::make_unique<GroupDetector>(o, std::move(d));
}

Status SreGroupModule::Start(const ModuleContext& ctx) {
  auto options = SreOptionsFromEnv();
  if (!options.ok()) return options.status();
  const SreOptions& o = *options;
  int64_t slice_keep_ms = 120000;
  VP_RETURN_IF_ERROR(EnvInt("VIEWPIPE_SRE_SLICE_KEEP_MS", o.detector.span_ms, &slice_keep_ms));
  const SreGroupOptions& g = SreGroupServeOptions();
  if (g.advertise_url.empty()) {
    return Status::InvalidArgument("the sre group needs the URL other members reach this "
                                   "process at (a fixed --listen port)");
  }
  VP_RETURN_IF_ERROR(OpenStore(ctx));
  const std::string dir = JoinPath(ctx.data_dir, "sre");
  shards_ = std::make_unique<SreShards>();
  checkpoints_ = std::make_unique<SreShardCheckpoints>(store_.get(), Env::Default(),
                                                       JoinPath(dir, "scratch"), o, slice_keep_ms);
  members_ = std::make_unique<partgroup::GroupMembers>(store_.get(), ctx.clock, NewInstanceId(),
                                                 g.advertise_url, "sre/members/");
  const int partitions = ctx.log->Partitions(kTopicQoe);
  merged_ = std::make_unique<MergedQoe>(shards_.get(), members_.get(), partitions, o);
  routes_ = std::make_unique<SreGroupRoutes>(shards_.get(), merged_.get(), store_.get(),
                                             Env::Default(), JoinPath(dir, "scratch"), o);
  routes_->Register(ctx.http);
  detector_ = MakeDetector(ctx, o);
  processor_ = std::make_unique<SreGroupProcessor>(ctx.log, std::string(kTopicQoe), shards_.get(),
                                                   checkpoints_.get(), ctx.clock, ctx.metrics, o);
  VP_RETURN_IF_ERROR(members_->Publish({}));
  heartbeat_ = std::thread([this] {
    Every(kHeartbeat, [this] {
      Status st = members_->Publish(shards_->Owned());
      if (!st.ok()) spdlog::warn("sre group: heartbeat: {}", st.ToString());
    });
  });
  detecting_ = std::thread([this] { Every(kDetectorCycle, [this] { detector_->Cycle(); }); });
  ConsumerRunnerOptions ro;
  ro.group = "sre";
  ro.topic = std::string(kTopicQoe);
  ro.checkpoint_interval = std::chrono::milliseconds(o.checkpoint_interval_ms);
  runner_ = std::make_unique<ConsumerRunner>(ctx.log, processor_.get(), ctx.metrics, ro);
  VP_RETURN_IF_ERROR(runner_->Start());
  spdlog::info("sre group: member {} at {}, {} partitions of qoe, state in {}, slices kept {} ms",
               members_->instance(), g.advertise_url, partitions, store_->RootUri(),
               slice_keep_ms);
  return Status::OK();
}

void SreGroupModule::Every(std::chrono::milliseconds period, const std::function<void()>& fn) {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    lock.unlock();
    fn();
    lock.lock();
    cv_.wait_for(lock, period, [this] { return stopping_; });
  }
}

void SreGroupModule::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (detecting_.joinable()) detecting_.join();
  if (detector_) detector_->Stop();  // stores the detector's state while it still owns p0
  if (runner_) runner_->Stop();      // the final checkpoint of every owned partition
  runner_.reset();
  if (heartbeat_.joinable()) {
    heartbeat_.join();
    Status st = members_->Leave();
    if (!st.ok()) spdlog::warn("sre group: leaving: {}", st.ToString());
  }
}

}  // namespace

SreGroupOptions& SreGroupServeOptions() {
  static SreGroupOptions options;
  return options;
}

std::unique_ptr<ServerModule> MakeSreGroupModule() { return std::make_unique<SreGroupModule>(); }

}  // namespace viewpipe::sre
