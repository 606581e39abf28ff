#pragma once
// DeliveryClaims: lets several webhook notifiers that may run at once (the
// sre group's old and new detector across a hand-over of partition 0, or a
// process the group gave up on that is still running) agree which of them
// sends a notification, so the receiver gets it once, and learn which ones
// another notifier already had acknowledged.
//
// The one-process path has no claims (WebhookNotifier with claims null):
// its delivery log alone is the truth there.
//
// Thread safety: implementations are called from one notifier's thread;
// several notifiers (processes) share one set of claims through the store.

#include <string>

#include "common/status.h"

namespace viewpipe::sre {

class DeliveryClaims {
 public:
  enum class Verdict {
    kSend,       // this notifier holds the claim: send now
    kDelivered,  // another notifier had it acknowledged: record it, do not send
    kWait,       // another notifier holds a live claim: ask again later
  };
  virtual ~DeliveryClaims() = default;

  // Before sending the notification key ("<alert id> <open|resolved>").
  virtual Result<Verdict> Claim(const std::string& key) = 0;
  // After the receiver acknowledged key (2xx).
  virtual Status Delivered(const std::string& key) = 0;
};

}  // namespace viewpipe::sre
