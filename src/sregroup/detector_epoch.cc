#include "sregroup/detector_epoch.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <random>

namespace viewpipe::sre {

DetectorEpoch::DetectorEpoch(ObjectStore* store, const std::string& owner) : store_(store) {
  std::random_device rd;
  owner_ = fmt::format("{} {:08x}{:08x}", owner, rd(), rd());  // unique per activation
}

std::string DetectorEpoch::KeyOf(int64_t epoch) {
  return fmt::format("{}{:020d}", kPrefix, epoch);
}

Status DetectorEpoch::Take() {
  auto listed = store_->List(kPrefix);
  if (!listed.ok()) return listed.status();
  int64_t newest = 0;
  const size_t prefix = std::string_view(kPrefix).size();
  for (const ObjectInfo& o : *listed) {
    newest = std::max<int64_t>(newest, std::atoll(o.key.substr(prefix).c_str()));
  }
  const int64_t next = newest + 1;
  Status st = store_->PutIfAbsent(KeyOf(next), owner_);
  if (IsAlreadyExists(st)) {
    auto stored = store_->Get(KeyOf(next));  // ours when a retried request created it
    if (!stored.ok() || *stored != owner_) {
      return Status::Aborted(
          fmt::format("another process took the detector over (epoch {})", next));
    }
  } else if (!st.ok()) {
    return st;
  }
  epoch_ = next;
  return Status::OK();
}

bool DetectorEpoch::Fenced() {
  if (epoch_ == 0) return true;
  auto size = store_->Size(KeyOf(epoch_ + 1));
  return size.ok() || !size.status().IsNotFound();
}

}  // namespace viewpipe::sre
