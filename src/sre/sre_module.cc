#include "sre/sre_module.h"

#include <spdlog/spdlog.h>

#include <charconv>
#include <cstdlib>

#include "common/env_knob.h"
#include "common/env.h"
#include "sre/alert_book.h"
#include "sre/sre_processor.h"
#include "sre/sre_routes.h"
#include "sre/sre_state.h"
#include "sre/webhook_notifier.h"
#include "stream/consumer_runner.h"

namespace viewpipe::sre {
Result<SreOptions> SreOptionsFromEnv() {
  SreOptions o;
  VP_RETURN_IF_ERROR(EnvInt("VIEWPIPE_SRE_LATENESS_MS", 0, &o.qoe.lateness_ms));
  VP_RETURN_IF_ERROR(EnvInt("VIEWPIPE_SRE_MIN_ATTEMPTS", 1, &o.detector.min_attempts));
  VP_RETURN_IF_ERROR(EnvInt("VIEWPIPE_SRE_MIN_HISTORY", 1, &o.detector.min_history));
  VP_RETURN_IF_ERROR(EnvInt("VIEWPIPE_SRE_MAX_LAG_RECORDS", 1, &o.health.max_lag_records));
  VP_RETURN_IF_ERROR(EnvInt("VIEWPIPE_SRE_CHECKPOINT_MS", 100, &o.checkpoint_interval_ms));
  VP_RETURN_IF_ERROR(EnvInt("VIEWPIPE_SRE_PARTIAL_WITHIN_MS", 0, &o.detector.partial_within_ms));
  return o;
}

SreModule::SreModule() = default;
SreModule::~SreModule() { Stop(); }

Status SreModule::Start(const ModuleContext& ctx) {
  auto options = SreOptionsFromEnv();
  if (!options.ok()) return options.status();
  const SreOptions& o = *options;
  const std::string dir = JoinPath(ctx.data_dir, "sre");
  book_ = std::make_unique<AlertBook>(Env::Default(), JoinPath(dir, "alerts"));
  VP_RETURN_IF_ERROR(book_->Load());
  if (const char* url = std::getenv("VIEWPIPE_SRE_WEBHOOK_URL"); url != nullptr && *url != '\0') {
    WebhookOptions wo;
    wo.url = url;
    webhook_ = std::make_unique<WebhookNotifier>(
        wo, book_.get(), JoinPath(dir, "webhook_delivered"), ctx.metrics);
    VP_RETURN_IF_ERROR(webhook_->Start());
    book_->SetListener([w = webhook_.get()](const Alert&) { w->Wake(); });
  }
  state_ = std::make_unique<SreState>(o, book_.get(), ctx.clock);
  processor_ = std::make_unique<SreProcessor>(ctx.log, std::string(kTopicQoe), state_.get(),
                                              book_.get(), ctx.clock, ctx.metrics,
                                              Env::Default(), dir);
  routes_ = std::make_unique<SreRoutes>(state_.get(), book_.get());
  routes_->Register(ctx.http);
  ConsumerRunnerOptions ro;
  ro.group = "sre";
  ro.topic = std::string(kTopicQoe);
  ro.checkpoint_interval = std::chrono::milliseconds(o.checkpoint_interval_ms);
  runner_ = std::make_unique<ConsumerRunner>(ctx.log, processor_.get(), ctx.metrics, ro);
  VP_RETURN_IF_ERROR(runner_->Start());
  spdlog::info("sre: {} ms windows, lateness {} ms, min {} attempts per evaluation",
               o.qoe.window_ms, o.qoe.lateness_ms, o.detector.min_attempts);
  return Status::OK();
}

void SreModule::Stop() {
  if (runner_) runner_->Stop();
  runner_.reset();
  if (webhook_) webhook_->Stop();
}

}  // namespace viewpipe::sre
