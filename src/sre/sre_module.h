#pragma once
// SreModule: the SRE path inside `viewpipe serve`: consumer group "sre" on
// topic `qoe` (ConsumerRunner + SreProcessor), alerts kept in
// data_dir/sre/alerts, and the /v1/sre/* routes (sre_routes.h).
//
// Knobs (environment, read at Start; defaults in sre_options.h):
//   VIEWPIPE_SRE_LATENESS_MS        window closing allowance (2000)
//   VIEWPIPE_SRE_MIN_ATTEMPTS       minimum attempts per 30 s evaluation (12)
//   VIEWPIPE_SRE_MIN_HISTORY        normal evaluations before alerting (12)
//   VIEWPIPE_SRE_MAX_LAG_RECORDS    consumer-lag alert threshold (100000)
//   VIEWPIPE_SRE_CHECKPOINT_MS      state checkpoint interval (10000;
//                                   data_dir/sre/checkpoint, sre_processor.h)
//   VIEWPIPE_SRE_PARTIAL_WITHIN_MS  raise-only evaluations between ticks while the
//                                   watermark is this close to the wall clock (60000;
//                                   the steady-hour bench: always)
//   VIEWPIPE_SRE_WEBHOOK_URL        POST alert notifications there (none;
//                                   webhook_notifier.h)

#include <memory>
#include <string>

#include "api/server_module.h"
#include "sre/sre_options.h"

namespace viewpipe {
class ConsumerRunner;
}

namespace viewpipe::sre {

class AlertBook;
class SreState;
class SreProcessor;
class SreRoutes;
class WebhookNotifier;

// Reads the VIEWPIPE_SRE_* variables over the defaults; InvalidArgument
// names a bad one.
Result<SreOptions> SreOptionsFromEnv();

class SreModule final : public ServerModule {
 public:
  SreModule();
  ~SreModule() override;
  std::string name() const override { return "sre"; }
  Status Start(const ModuleContext& ctx) override;
  void Stop() override;

 private:
  std::unique_ptr<AlertBook> book_;
  std::unique_ptr<SreState> state_;
  std::unique_ptr<SreProcessor> processor_;
  std::unique_ptr<SreRoutes> routes_;
  std::unique_ptr<WebhookNotifier> webhook_;
  std::unique_ptr<ConsumerRunner> runner_;
};

}  // namespace viewpipe::sre
