#include "sre/alert.h"

#include "common/json_writer.h"

namespace viewpipe::sre {
namespace {

void Str(std::string* out, const char* name, const std::string& v) {
  *out += ",\"";
  *out += name;
  *out += "\":";
  AppendJsonString(out, v);
}

}  // namespace

std::string Alert::MakeId(const std::string& kind, const std::string& dimension,
                          const std::string& key, const std::string& metric, int64_t started_at) {
  return kind + ":" + dimension + ":" + key + ":" + metric + ":" + std::to_string(started_at);
}

void AppendAlertJson(const Alert& a, std::string* out) {
  *out += "{\"id\":";
  AppendJsonString(out, a.id);
  Str(out, "state", a.open ? "open" : "resolved");
  Str(out, "kind", a.kind);
  Str(out, "dimension", a.dimension);
  Str(out, "key", a.key);
  Str(out, "metric", a.metric);
  Str(out, "severity", a.severity);
  *out += ",\"value\":";
  AppendJsonDouble(out, a.value);
  *out += ",\"baseline\":";
  AppendJsonDouble(out, a.baseline);
  *out += ",\"started_at\":";
  AppendJsonInt(out, a.started_at);
  *out += ",\"detected_at\":";
  AppendJsonInt(out, a.detected_at);
  *out += ",\"detected_event_time\":";
  AppendJsonInt(out, a.detected_event_time);
  *out += ",\"resolved_at\":";
  if (a.resolved_at) {
    AppendJsonInt(out, *a.resolved_at);
  } else {
    *out += "null";
  }
  *out += '}';
}

}  // namespace viewpipe::sre
