#include "partgroup/member_fanout.h"

#include <httplib.h>

namespace viewpipe::partgroup {
namespace {

constexpr int64_t kMemberMaxAgeMs = 5000;
constexpr auto kMemberCacheTtl = std::chrono::milliseconds(500);

}  // namespace

MemberFanout::MemberFanout(GroupMembers* members, std::string group,
                           spdlog::level::level_enum no_answer)
    : members_(members), group_(std::move(group)), no_answer_(no_answer) {}

std::vector<MemberInfo> MemberFanout::Members() {
  std::lock_guard<std::mutex> lock(mu_);
  const auto now = std::chrono::steady_clock::now();
  if (now - cached_at_ >= kMemberCacheTtl) {
    auto live = members_->Live(kMemberMaxAgeMs);
    if (live.ok()) {
      cached_ = std::move(live).value();
      cached_at_ = now;
    } else {
      spdlog::warn("{}: listing the group's members: {}", group_, live.status().ToString());
    }
  }
  return cached_;
}

void MemberFanout::AskOthers(const std::string& path, const std::string& auth,
                             const OnBody& on_body) {
  for (const MemberInfo& m : Members()) {
    if (m.instance == members_->instance()) continue;
    httplib::Client client(m.url);
    client.set_connection_timeout(1, 0);
    client.set_read_timeout(5, 0);
    httplib::Headers headers;
    if (!auth.empty()) headers.emplace("Authorization", auth);
    auto res = client.Get(path, headers);
    if (!res || res->status != 200) {
      spdlog::log(no_answer_, "{}: member {} at {} did not answer ({})", group_, m.instance, m.url,
                  res ? std::to_string(res->status) : httplib::to_string(res.error()));
      continue;
    }
    Status st = on_body(res->body);
    if (!st.ok()) spdlog::warn("{}: member {}: {}", group_, m.instance, st.ToString());
  }
}

}  // namespace viewpipe::partgroup
