#include "batch/run_ledger.h"

#include <simdjson.h>

#include <algorithm>
#include <map>

#include "common/json_writer.h"

namespace viewpipe::batch {
namespace {

void Str(std::string* out, const char* name, std::string_view v) {
  *out += ",\"";
  *out += name;
  *out += "\":";
  AppendJsonString(out, v);
}

void Int(std::string* out, const char* name, int64_t v) {
  *out += ",\"";
  *out += name;
  *out += "\":";
  AppendJsonInt(out, v);
}

bool Parse(simdjson::dom::element e, RunRecord* r) {
  std::string_view s;
  auto str = [&](const char* k, std::string* out) {
    if (e[k].get_string().get(s)) return false;
    *out = std::string(s);
    return true;
  };
  int64_t bytes = 0;
  if (!str("id", &r->id) || !str("job", &r->job) || !str("partition", &r->partition) ||
      !str("trigger", &r->trigger) || !str("status", &r->status) || !str("error", &r->error)) {
    return false;
  }
  if (e["start_ms"].get_int64().get(r->start_ms) || e["end_ms"].get_int64().get(r->end_ms) ||
      e["rows"].get_int64().get(r->rows) || e["bytes"].get_int64().get(bytes) ||
      e["provisional"].get_bool().get(r->provisional)) {
    return false;
  }
  r->bytes = static_cast<uint64_t>(bytes);
  return true;
}

}  // namespace

std::string RunRecordJson(const RunRecord& r) {
  std::string out = "{\"id\":";
  AppendJsonString(&out, r.id);
  Str(&out, "job", r.job);
  Str(&out, "partition", r.partition);
  Str(&out, "trigger", r.trigger);
  Str(&out, "status", r.status);
  Int(&out, "start_ms", r.start_ms);
  Int(&out, "end_ms", r.end_ms);
  Int(&out, "rows", r.rows);
  Int(&out, "bytes", static_cast<int64_t>(r.bytes));
  out += std::string(",\"provisional\":") + (r.provisional ? "true" : "false");
  Str(&out, "error", r.error);
  out += "}";
  return out;
}

Status RunLedger::Append(const RunRecord& record) {
  std::lock_guard<std::mutex> lock(mu_);
  VP_RETURN_IF_ERROR(env_->CreateDirs(DirName(path_)));
  bool created = !env_->FileExists(path_);
  auto file = env_->NewAppendableFile(path_);
  if (!file.ok()) return file.status();
  VP_RETURN_IF_ERROR((*file)->Append(RunRecordJson(record) + "\n"));
  VP_RETURN_IF_ERROR((*file)->Sync());
  VP_RETURN_IF_ERROR((*file)->Close());
  return created ? env_->SyncDir(DirName(path_)) : Status::OK();
}

Result<std::vector<RunRecord>> RunLedger::Read(size_t limit) {
  std::string data;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!env_->FileExists(path_)) return std::vector<RunRecord>{};
    VP_RETURN_IF_ERROR(env_->ReadFileToString(path_, &data));
  }
  std::map<std::string, RunRecord> latest;  // by id
  std::vector<std::string> order;           // ids by first appearance
  simdjson::dom::parser parser;
  size_t pos = 0;
  while (pos < data.size()) {
    size_t nl = data.find('\n', pos);
    if (nl == std::string::npos) break;  // torn last line
    simdjson::padded_string line(std::string_view(data).substr(pos, nl - pos));
    pos = nl + 1;
    simdjson::dom::element e;
    RunRecord r;
    if (parser.parse(line).get(e) || !Parse(e, &r)) continue;
    if (!latest.count(r.id)) order.push_back(r.id);
    latest[r.id] = std::move(r);
  }
  std::vector<RunRecord> out;
  for (auto it = order.rbegin(); it != order.rend() && out.size() < limit; ++it) {
    out.push_back(latest[*it]);
  }
  return out;
}

}  // namespace viewpipe::batch
