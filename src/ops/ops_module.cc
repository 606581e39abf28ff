#include "ops/ops_module.h"

#include <spdlog/spdlog.h>

#include <charconv>
#include <cstdlib>

#include "common/env_knob.h"
#include "common/env.h"
#include "ops/ops_processor.h"
#include "ops/ops_routes.h"
#include "ops/ops_state.h"
#include "stream/consumer_runner.h"

namespace viewpipe::ops {
Result<OpsOptions> OpsOptionsFromEnv() {
  OpsOptions o;
  TrackerOptions& t = o.tracker;
  int64_t clients = o.max_stream_clients;
  VP_RETURN_IF_ERROR(EnvInt("VIEWPIPE_OPS_TIMEOUT_MS", 0, &t.timeout_ms));
  VP_RETURN_IF_ERROR(EnvInt("VIEWPIPE_OPS_COMPLETE_AFTER_MS", 0, &t.complete_after_ms));
  VP_RETURN_IF_ERROR(
      EnvInt("VIEWPIPE_OPS_LATENESS_MS", t.complete_after_ms + 1000, &t.lateness_ms));
  VP_RETURN_IF_ERROR(EnvInt("VIEWPIPE_OPS_CHECKPOINT_INTERVAL_MS", 100, &o.checkpoint_interval_ms));
  VP_RETURN_IF_ERROR(EnvInt("VIEWPIPE_OPS_MAX_STREAM_CLIENTS", 0, &clients));
  o.max_stream_clients = static_cast<int>(clients);
  t.retention_ms = std::max(t.retention_ms, t.lateness_ms);
  return o;
}

OpsModule::OpsModule() = default;
OpsModule::~OpsModule() { Stop(); }

Status OpsModule::Start(const ModuleContext& ctx) {
  auto options = OpsOptionsFromEnv();
  if (!options.ok()) return options.status();
  const OpsOptions& o = *options;
  state_ = std::make_unique<OpsState>(o.tracker);
  processor_ = std::make_unique<OpsProcessor>(ctx.log, std::string(kTopicViewing), state_.get(),
                                              Env::Default(), JoinPath(ctx.data_dir, "ops"),
                                              ctx.clock, ctx.metrics, o);
  routes_ = std::make_unique<OpsRoutes>(state_.get(), o.max_stream_clients, ctx.metrics);
  routes_->Register(ctx.http);
  ConsumerRunnerOptions ro;
  ro.group = "ops";
  ro.topic = std::string(kTopicViewing);
  ro.checkpoint_interval = std::chrono::milliseconds(o.checkpoint_interval_ms);
  runner_ = std::make_unique<ConsumerRunner>(ctx.log, processor_.get(), ctx.metrics, ro);
  VP_RETURN_IF_ERROR(runner_->Start());
  spdlog::info("ops: timeout {} ms, lateness bound {} ms, complete after {} ms, checkpoint "
               "every {} ms",
               o.tracker.timeout_ms, o.tracker.lateness_ms, o.tracker.complete_after_ms,
               o.checkpoint_interval_ms);
  return Status::OK();
}

void OpsModule::Stop() {
  if (routes_) routes_->Stop();
  if (processor_) processor_->SetSynchronous(true);  // the final checkpoint, durable on return
  if (runner_) runner_->Stop();
  runner_.reset();
  if (processor_) processor_->WaitForBackgroundCheckpoint();
}

}  // namespace viewpipe::ops
