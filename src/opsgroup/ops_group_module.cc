#include "opsgroup/ops_group_module.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <random>

#include "common/env.h"
#include "lake/local_object_store.h"
#include "ops/ops_module.h"
#include "partgroup/group_members.h"
#include "opsgroup/merged_reader.h"
#include "opsgroup/ops_group_processor.h"
#include "opsgroup/ops_group_routes.h"
#include "opsgroup/partition_shards.h"
#include "opsgroup/shard_checkpoints.h"
#include "stream/consumer_runner.h"

namespace viewpipe::ops {
namespace {

constexpr auto kHeartbeat = std::chrono::milliseconds(1000);

std::string NewInstanceId() {
  char host[64] = {};
  ::gethostname(host, sizeof(host) - 1);
  std::random_device rd;
  return std::string(host) + "-" + std::to_string(::getpid()) + "-" + std::to_string(rd() % 100000);
}

class OpsGroupModule final : public ServerModule {
 public:
  ~OpsGroupModule() override { Stop(); }
  std::string name() const override { return "ops"; }
  Status Start(const ModuleContext& ctx) override;
  void Stop() override;

 private:
  void Heartbeat();

  std::shared_ptr<ObjectStore> store_;
  std::unique_ptr<PartitionShards> shards_;
  std::unique_ptr<ShardCheckpoints> checkpoints_;
  std::unique_ptr<partgroup::GroupMembers> members_;
  std::unique_ptr<MergedReader> reader_;
  std::unique_ptr<OpsGroupRoutes> routes_;
  std::unique_ptr<OpsGroupProcessor> processor_;
  std::unique_ptr<ConsumerRunner> runner_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread heartbeat_;
};

Status OpsGroupModule::Start(const ModuleContext& ctx) {
  auto options = OpsOptionsFromEnv();
  if (!options.ok()) return options.status();
  const OpsOptions& o = *options;
  const OpsGroupOptions& g = OpsGroupServeOptions();
  if (g.advertise_url.empty()) {
    return Status::InvalidArgument("the ops group needs the URL other members reach this "
                                   "process at (a fixed --listen port)");
  }
  store_ = g.state_store;
  if (store_ == nullptr) {
    const std::string dir =
        g.state_dir.empty() ? JoinPath(JoinPath(ctx.data_dir, "ops"), "shared") : g.state_dir;
    VP_RETURN_IF_ERROR(Env::Default()->CreateDirs(dir));
    store_ = std::make_shared<LocalObjectStore>(Env::Default(), dir);
  }
  shards_ = std::make_unique<PartitionShards>(o.tracker);
  checkpoints_ = std::make_unique<ShardCheckpoints>(
      store_.get(), Env::Default(), JoinPath(JoinPath(ctx.data_dir, "ops"), "scratch"),
      o.tracker);
  members_ = std::make_unique<partgroup::GroupMembers>(store_.get(), ctx.clock,
                                                       NewInstanceId(), g.advertise_url);
  const int partitions = ctx.log->Partitions(kTopicViewing);
  reader_ = std::make_unique<MergedReader>(shards_.get(), members_.get(), partitions);
  routes_ = std::make_unique<OpsGroupRoutes>(shards_.get(), reader_.get(), members_->instance(),
                                             o.max_stream_clients, ctx.metrics);
  routes_->Register(ctx.http);
  processor_ = std::make_unique<OpsGroupProcessor>(ctx.log, std::string(kTopicViewing),
                                                   shards_.get(), checkpoints_.get(), ctx.clock,
                                                   ctx.metrics, o);
  VP_RETURN_IF_ERROR(members_->Publish({}));
  heartbeat_ = std::thread([this] { Heartbeat(); });
  ConsumerRunnerOptions ro;
  ro.group = "ops";
  ro.topic = std::string(kTopicViewing);
  ro.checkpoint_interval = std::chrono::milliseconds(o.checkpoint_interval_ms);
  runner_ = std::make_unique<ConsumerRunner>(ctx.log, processor_.get(), ctx.metrics, ro);
  VP_RETURN_IF_ERROR(runner_->Start());
  spdlog::info("ops group: member {} at {}, {} of {} partitions, state in {}",
               members_->instance(), g.advertise_url, shards_->Owned().size(), partitions,
               store_->RootUri());
  return Status::OK();
}

void OpsGroupModule::Heartbeat() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    lock.unlock();
    Status st = members_->Publish(shards_->Owned());
    if (!st.ok()) spdlog::warn("ops group: heartbeat: {}", st.ToString());
    lock.lock();
    cv_.wait_for(lock, kHeartbeat, [this] { return stopping_; });
  }
}

void OpsGroupModule::Stop() {
  if (routes_) routes_->Stop();
  if (runner_) runner_->Stop();  // the final checkpoint of every owned partition
  runner_.reset();               // leaves the Kafka group
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (heartbeat_.joinable()) {
    heartbeat_.join();
    Status st = members_->Leave();
    if (!st.ok()) spdlog::warn("ops group: leaving: {}", st.ToString());
  }
}

}  // namespace

OpsGroupOptions& OpsGroupServeOptions() {
  static OpsGroupOptions options;
  return options;
}

std::unique_ptr<ServerModule> MakeOpsGroupModule() { return std::make_unique<OpsGroupModule>(); }

}  // namespace viewpipe::ops
