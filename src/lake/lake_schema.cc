#include "lake/lake_schema.h"

#include "common/json_writer.h"
#include "lake/duck.h"

namespace viewpipe {

const std::vector<LakeColumn>& LakeColumns() {
  static const std::vector<LakeColumn> kColumns = {
      {"event_id", "VARCHAR"},      {"type", "VARCHAR"},
      {"ts", "BIGINT"},             {"session_id", "VARCHAR"},
      {"profile_id", "VARCHAR"},    {"title_id", "VARCHAR"},
      {"device_type", "VARCHAR"},   {"country", "VARCHAR"},
      {"cdn", "VARCHAR"},           {"os", "VARCHAR"},
      {"app_version", "VARCHAR"},   {"isp", "VARCHAR"},
      {"position_ms", "BIGINT"},    {"bitrate_kbps", "INTEGER"},
      {"startup_ms", "INTEGER"},    {"rebuffer_ms", "INTEGER"},
      {"error_code", "VARCHAR"},    {"fatal", "BOOLEAN"},
      {"live_event_id", "VARCHAR"}, {"experiments", "MAP(VARCHAR, VARCHAR)"},
      {"received_at", "BIGINT"},
  };
  return kColumns;
}

namespace {
std::string Ddl(bool staging) {
  std::string out;
  for (const LakeColumn& c : LakeColumns()) {
    if (!out.empty()) out += ", ";
    out += c.name;
    out += ' ';
    out += (staging && c.name == "experiments") ? std::string_view("VARCHAR") : c.type;
  }
  return out;
}
}  // namespace

std::string LakeStagingColumnsDdl() { return Ddl(true); }
std::string LakeColumnsDdl() { return Ddl(false); }

std::string LakeSelectFromStaging() {
  std::string out;
  for (const LakeColumn& c : LakeColumns()) {
    if (!out.empty()) out += ", ";
    if (c.name == "experiments") {
      out += "CAST(CAST(experiments AS JSON) AS MAP(VARCHAR, VARCHAR)) AS experiments";
    } else {
      out += c.name;
    }
  }
  return out;
}

std::string LakeColumnNames() {
  std::string out;
  for (const LakeColumn& c : LakeColumns()) {
    if (!out.empty()) out += ", ";
    out += c.name;
  }
  return out;
}

bool IsLogicalColumn(std::string_view name) {
  if (name == "event_date") return true;
  for (const LakeColumn& c : LakeColumns()) {
    if (c.name == name) return true;
  }
  return false;
}

void AppendEventColumns(const EventView& e, DuckAppender* a) {
  a->String(e.event_id);
  a->String(EventTypeName(e.type));
  a->Int64(e.ts_ms);
  a->String(e.session_id);
  a->String(e.profile_id);
  a->String(e.title_id);
  a->String(DeviceTypeName(e.device_type));
  a->String(e.country);
  a->String(e.cdn);
  a->StringOrNull(e.os);
  a->StringOrNull(e.app_version);
  a->StringOrNull(e.isp);
  e.position_ms ? a->Int64(*e.position_ms) : a->Null();
  e.bitrate_kbps ? a->Int32(*e.bitrate_kbps) : a->Null();
  e.startup_ms ? a->Int32(*e.startup_ms) : a->Null();
  e.rebuffer_ms ? a->Int32(*e.rebuffer_ms) : a->Null();
  a->StringOrNull(e.error_code);
  e.fatal ? a->Bool(*e.fatal) : a->Null();
  a->StringOrNull(e.live_event_id);
  if (e.experiments.empty()) {
    a->Null();
  } else {
    std::string json = "{";
    for (size_t i = 0; i < e.experiments.size(); ++i) {
      if (i > 0) json += ',';
      AppendJsonString(&json, e.experiments[i].first);
      json += ':';
      AppendJsonString(&json, e.experiments[i].second);
    }
    json += '}';
    a->String(json);
  }
  a->Int64(e.received_at_ms);
}

}  // namespace viewpipe
