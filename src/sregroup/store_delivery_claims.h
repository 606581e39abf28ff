#pragma once
// StoreDeliveryClaims: the sre group's webhook claims (sre/delivery_claims.h)
// in the group's shared store, made of objects that are only ever created,
// never replaced:
//
//   sre/detector/notifications/<key>/claim-00000001   the 1st claim (owner token)
//   sre/detector/notifications/<key>/claim-00000002   a takeover of an expired one
//   sre/detector/notifications/<key>/delivered        acknowledged (2xx)
//
// (<key> = the notification "<alert id> <open|resolved>", percent-encoded.)
// Claim n+1 is created with PutIfAbsent, so of the notifiers that race for
// it exactly one wins and sends; the others wait. A claim is a lease:
//   - its holder sends only within send_within_ms of creating it (measured
//     from before the create, on its own monotonic clock); a later retry
//     (the receiver failed) creates the next claim first;
//   - another notifier takes over (creates claim n+1) once it has seen claim
//     n, without `delivered`, for lease_ms of its own monotonic clock.
// With send_within_ms + the longest send + storing `delivered` below
// lease_ms, a notification is never sent by two notifiers, and one whose
// holder died after claiming (before sending, or before storing
// `delivered`) is sent by the next one after the lease: never lost. Left:
// a holder killed between the receiver's 2xx and storing `delivered` (one
// store request), or stopped (SIGSTOP, swap) for longer than the lease in
// the middle of a send — then the notification is sent again (at least
// once; the X-Viewpipe-Notification header lets the receiver drop it).
//
// Cost: a notification not yet in the local delivery log costs one LIST
// before it is sent, one conditional PUT and one PUT; a waiting notifier
// LISTs once per scan (200 ms) until it is delivered or the lease ran out.
// The objects are a few bytes each, never deleted.
//
// Thread safety: Claim/Delivered from one thread (the notifier's).

#include <cstdint>
#include <map>
#include <string>

#include "common/clock.h"
#include "lake/object_store.h"
#include "sre/delivery_claims.h"

namespace viewpipe::sre {

struct DeliveryClaimOptions {
  std::string prefix = "sre/detector/notifications/";
  int64_t lease_ms = 30000;
  // WebhookOptions' default timeouts (5 s each for connect, write and read:
  // at most ~15 s a send) + storing `delivered` fit in the lease after it.
  int64_t send_within_ms = 10000;
};

class StoreDeliveryClaims final : public DeliveryClaims {
 public:
  // owner names this notifier in its claims (a random suffix is added, so
  // a restarted process does not take its predecessor's claims for its own).
  StoreDeliveryClaims(ObjectStore* store, Clock* clock, const std::string& owner,
                      DeliveryClaimOptions options = {});

  Result<Verdict> Claim(const std::string& key) override;
  Status Delivered(const std::string& key) override;

  // The object key's folder for a notification key.
  std::string FolderOf(const std::string& key) const;

 private:
  struct Seen {
    int64_t attempt = 0;
    int64_t since_ms = 0;  // created (ours) or first seen (another's)
    bool mine = false;
  };
  int64_t NowMs() const { return clock_->MonotonicMicros() / 1000; }
  // Creates claim number attempt (PutIfAbsent): kSend when won, else kWait.
  Result<Verdict> Take(const std::string& key, const std::string& folder, int64_t attempt);

  ObjectStore* store_;
  Clock* clock_;
  std::string token_;
  DeliveryClaimOptions options_;
  std::map<std::string, Seen> seen_;  // notification key -> newest claim seen
};

}  // namespace viewpipe::sre
