#pragma once
// GroupMembers: how the processes of a group (the ops group, the sre group)
// find each other. Each process stores <prefix><instance> (ops/members/,
// sre/members/) in the shared store every second:
//   {"instance": "...", "url": "http://host:port", "heartbeat_ms": wall ms,
//    "partitions": [0, 2]}
// A reader asks every member whose heartbeat is recent for its partials;
// the partitions a member lists are informational (the partials say
// exactly which partitions it serves at the moment it answers). Heartbeats
// compare wall clocks of different machines: keep them in sync (NTP).
//
// Thread safety: thread safe (the store is).

#include <cstdint>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "lake/object_store.h"
#include "log/log.h"

namespace viewpipe::partgroup {

struct MemberInfo {
  std::string instance;
  std::string url;
  int64_t heartbeat_ms = 0;
  std::vector<PartitionId> partitions;
};

class GroupMembers {
 public:
  // store and clock must outlive this. prefix: where the entries live
  // (another group, e.g. the sre group's "sre/members/", keeps its own).
  GroupMembers(ObjectStore* store, Clock* clock, std::string instance, std::string url,
               std::string prefix = "ops/members/");

  const std::string& instance() const { return instance_; }
  const std::string& url() const { return url_; }
  Status Publish(const std::vector<PartitionId>& partitions);
  // Removes this member's entry (a clean stop).
  Status Leave();
  // Every member (this one included) whose heartbeat is at most max_age_ms
  // old; entries older than an hour are deleted on the way.
  Result<std::vector<MemberInfo>> Live(int64_t max_age_ms);

  static std::string Key(const std::string& instance) { return "ops/members/" + instance; }

 private:
  ObjectStore* store_;
  Clock* clock_;
  std::string instance_;
  std::string url_;
  std::string prefix_;
};

// The JSON of a member entry, and back.
std::string MemberJson(const MemberInfo& m);
Status ParseMember(std::string_view json, MemberInfo* m);

}  // namespace viewpipe::partgroup
