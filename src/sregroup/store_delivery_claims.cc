#include "sregroup/store_delivery_claims.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <random>

namespace viewpipe::sre {
namespace {

constexpr std::string_view kClaimPrefix = "claim-";
constexpr std::string_view kDeliveredName = "delivered";

std::string PercentEncode(const std::string& in) {
  std::string out;
  for (unsigned char c : in) {
    const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                       c == '-' || c == '_' || c == '.';
    out += plain ? std::string(1, static_cast<char>(c)) : fmt::format("%{:02X}", c);
  }
  return out;
}

std::string ClaimName(int64_t attempt) { return fmt::format("{}{:08d}", kClaimPrefix, attempt); }

}  // namespace

StoreDeliveryClaims::StoreDeliveryClaims(ObjectStore* store, Clock* clock,
                                         const std::string& owner, DeliveryClaimOptions options)
    : store_(store), clock_(clock), options_(std::move(options)) {
  std::random_device rd;
  token_ = fmt::format("{} {:08x}{:08x}", owner, rd(), rd());
}

std::string StoreDeliveryClaims::FolderOf(const std::string& key) const {
  return options_.prefix + PercentEncode(key) + "/";
}

Result<DeliveryClaims::Verdict> StoreDeliveryClaims::Claim(const std::string& key) {
  const std::string folder = FolderOf(key);
  auto listed = store_->List(folder);
  if (!listed.ok()) return listed.status();
  int64_t attempt = 0;
  for (const ObjectInfo& o : *listed) {
    const std::string_view name = std::string_view(o.key).substr(folder.size());
    if (name == kDeliveredName) {
      seen_.erase(key);
      return Verdict::kDelivered;
    }
    if (name.substr(0, kClaimPrefix.size()) == kClaimPrefix) {
      const std::string number(name.substr(kClaimPrefix.size()));
      attempt = std::max<int64_t>(attempt, std::atoll(number.c_str()));
    }
  }
  if (attempt == 0) return Take(key, folder, 1);
  const int64_t now = NowMs();
  auto it = seen_.find(key);
  if (it == seen_.end() || it->second.attempt != attempt) {
    // Another notifier's claim we had not seen: its lease runs from now.
    seen_[key] = Seen{attempt, now, false};
    return Verdict::kWait;
  }
  const Seen& s = it->second;
  if (s.mine && now - s.since_ms < options_.send_within_ms) return Verdict::kSend;
  if (s.mine || now - s.since_ms >= options_.lease_ms) {
    if (!s.mine) {
      spdlog::warn("sre: webhook: the claim {} of '{}' was not delivered within {} ms: taking "
                   "it over", attempt, key, options_.lease_ms);
    }
    return Take(key, folder, attempt + 1);
  }
  return Verdict::kWait;
}

Result<DeliveryClaims::Verdict> StoreDeliveryClaims::Take(const std::string& key,
                                                          const std::string& folder,
                                                          int64_t attempt) {
  const int64_t start = NowMs();
  const std::string object = folder + ClaimName(attempt);
  Status st = store_->PutIfAbsent(object, token_);
  if (IsAlreadyExists(st)) {
    // Ours after all when a retried request's first attempt created it.
    auto stored = store_->Get(object);
    if (!stored.ok() || *stored != token_) {
      seen_[key] = Seen{attempt, NowMs(), false};
      return Verdict::kWait;
    }
  } else if (!st.ok()) {
    return st;
  }
  seen_[key] = Seen{attempt, start, true};
  return Verdict::kSend;
}

Status StoreDeliveryClaims::Delivered(const std::string& key) {
  VP_RETURN_IF_ERROR(store_->Put(FolderOf(key) + std::string(kDeliveredName), token_));
  seen_.erase(key);
  return Status::OK();
}

}  // namespace viewpipe::sre
