#pragma once
// DetectorEpoch: the sre group detector's fence (docs/scale.md, "Hand-over
// of the detector"). Each activation of the detector creates the next epoch
// object with PutIfAbsent before it loads the stored state:
//
//   sre/detector/epochs/00000000000000000007   (the taker's name)
//
// so of two processes that take the detector over at once one wins, and a
// process whose epoch is no longer the newest (epoch + 1 exists: epochs are
// created one after the other) is fenced: another process loaded the
// detector's state after it. The detector checks before and after each
// store of its book and before storing its state; it notifies an alert only
// once a store of the book that holds it was followed by an unfenced check,
// i.e. once the next owner is sure to load it.
//
// Cost: a LIST and a conditional PUT per activation, a HEAD per check.
//
// Thread safety: one thread (the detector's).

#include <cstdint>
#include <string>

#include "common/status.h"
#include "lake/object_store.h"

namespace viewpipe::sre {

class DetectorEpoch {
 public:
  static constexpr const char* kPrefix = "sre/detector/epochs/";

  DetectorEpoch(ObjectStore* store, const std::string& owner);
  // Creates the epoch after the newest; Aborted when another process
  // created it first (taking over at the same time: try again later).
  Status Take();
  // True when a newer epoch exists (or the store cannot tell: fenced is the
  // safe answer, the detector tries again).
  bool Fenced();
  int64_t epoch() const { return epoch_; }

 private:
  static std::string KeyOf(int64_t epoch);

  ObjectStore* store_;
  std::string owner_;
  int64_t epoch_ = 0;
};

}  // namespace viewpipe::sre
