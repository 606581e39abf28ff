#include "partgroup/group_members.h"

#include <simdjson.h>

#include "common/json_writer.h"

namespace viewpipe::partgroup {
namespace {

constexpr int64_t kForgetAfterMs = 3600 * 1000;

}  // namespace

std::string MemberJson(const MemberInfo& m) {
  std::string out = "{\"instance\":";
  AppendJsonString(&out, m.instance);
  out += ",\"url\":";
  AppendJsonString(&out, m.url);
  out += ",\"heartbeat_ms\":";
  AppendJsonInt(&out, m.heartbeat_ms);
  out += ",\"partitions\":[";
  for (size_t i = 0; i < m.partitions.size(); ++i) {
    if (i > 0) out += ',';
    AppendJsonInt(&out, m.partitions[i]);
  }
  out += "]}";
  return out;
}

Status ParseMember(std::string_view json, MemberInfo* m) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  std::string_view instance, url;
  simdjson::dom::array partitions;
  if (parser.parse(json.data(), json.size()).get(doc) != simdjson::SUCCESS ||
      doc["instance"].get_string().get(instance) != simdjson::SUCCESS ||
      doc["url"].get_string().get(url) != simdjson::SUCCESS ||
      doc["heartbeat_ms"].get_int64().get(m->heartbeat_ms) != simdjson::SUCCESS ||
      doc["partitions"].get_array().get(partitions) != simdjson::SUCCESS) {
    return Status::Corruption("ops group member entry: bad JSON");
  }
  m->instance = std::string(instance);
  m->url = std::string(url);
  m->partitions.clear();
  for (simdjson::dom::element p : partitions) {
    int64_t v;
    if (p.get_int64().get(v) != simdjson::SUCCESS) {
      return Status::Corruption("ops group member entry: bad partition");
    }
    m->partitions.push_back(static_cast<PartitionId>(v));
  }
  return Status::OK();
}

GroupMembers::GroupMembers(ObjectStore* store, Clock* clock, std::string instance,
                           std::string url, std::string prefix)
    : store_(store),
      clock_(clock),
      instance_(std::move(instance)),
      url_(std::move(url)),
      prefix_(std::move(prefix)) {}

Status GroupMembers::Publish(const std::vector<PartitionId>& partitions) {
  MemberInfo m{instance_, url_, clock_->NowMs(), partitions};
  return store_->Put(prefix_ + instance_, MemberJson(m));
}

Status GroupMembers::Leave() { return store_->Delete(prefix_ + instance_); }

Result<std::vector<MemberInfo>> GroupMembers::Live(int64_t max_age_ms) {
  auto listed = store_->List(prefix_);
  if (!listed.ok()) return listed.status();
  const int64_t now = clock_->NowMs();
  std::vector<MemberInfo> out;
  for (const ObjectInfo& o : *listed) {
    auto data = store_->Get(o.key);
    if (!data.ok()) continue;  // deleted meanwhile
    MemberInfo m;
    if (!ParseMember(*data, &m).ok()) continue;
    if (now - m.heartbeat_ms > kForgetAfterMs) {
      store_->Delete(o.key);
      continue;
    }
    if (now - m.heartbeat_ms <= max_age_ms) out.push_back(std::move(m));
  }
  return out;
}

}  // namespace viewpipe::partgroup
