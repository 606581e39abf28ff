#pragma once
// MemberFanout: how a group's merged read asks the other members. It lists
// the live members (heartbeat under 5 s; the list is cached for 0.5 s) and
// sends one GET to each but this process (connect timeout 1 s, read 5 s),
// forwarding the caller's Authorization header. A member that does not
// answer 200, or whose answer the caller cannot parse, is logged and left
// out: the caller names the partitions nobody reported.
//
// Thread safety: thread safe (HTTP threads).

#include <spdlog/spdlog.h>

#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "common/status.h"
#include "partgroup/group_members.h"

namespace viewpipe::partgroup {

class MemberFanout {
 public:
  // members must outlive this. group: the logs' prefix ("ops");
  // no_answer: the level of the line for a member that did not answer.
  MemberFanout(GroupMembers* members, std::string group, spdlog::level::level_enum no_answer);

  // The live members (this one included).
  std::vector<MemberInfo> Members();
  // GET path from every other live member; on_body gets each 200 answer's
  // body (an error it returns is logged).
  using OnBody = std::function<Status(const std::string& body)>;
  void AskOthers(const std::string& path, const std::string& auth, const OnBody& on_body);

 private:
  GroupMembers* members_;
  const std::string group_;
  const spdlog::level::level_enum no_answer_;
  std::mutex mu_;
  std::vector<MemberInfo> cached_;
  std::chrono::steady_clock::time_point cached_at_{};
};

}  // namespace viewpipe::partgroup
