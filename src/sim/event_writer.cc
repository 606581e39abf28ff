#include "sim/event_writer.h"

#include <charconv>

#include "common/json_writer.h"

namespace viewpipe::sim {
namespace {

void AppendInt(std::string* out, int64_t v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  out->append(buf, end);
}

std::string Field(std::string_view name, std::string_view value) {
  std::string s = ",\"";
  s += name;
  s += "\":";
  AppendJsonString(&s, value);
  return s;
}

template <typename Names>
std::vector<std::string> Fields(std::string_view name, const Names& values) {
  std::vector<std::string> out;
  for (const auto& v : values) out.push_back(Field(name, v));
  return out;
}

}  // namespace

EventWriter::EventWriter(uint64_t run_key, const Catalog* catalog, const Population* population,
                         std::vector<std::string> live_event_ids)
    : run_key_(run_key),
      catalog_(catalog),
      population_(population),
      live_event_ids_(std::move(live_event_ids)) {
  const WorldTables& w = World();
  for (const Title& t : catalog_->titles()) title_fields_.push_back(Field("title_id", t.id));
  country_fields_ = Fields("country", w.countries);
  cdn_fields_ = Fields("cdn", w.cdns);
  isp_fields_ = Fields("isp", w.isps);
  os_fields_ = Fields("os", w.oses);
  app_fields_ = Fields("app_version", w.app_versions);
  device_fields_ = Fields("device_type", w.devices);
}

std::string EventWriter::EventId(const SimEvent& e) const {
  const uint64_t hi = Hash64(run_key_, e.session_seq, e.event_seq);
  return UuidString(hi, Mix64(hi ^ 0x45564E54ULL));
}

std::string EventWriter::SessionId(uint64_t session_seq) const {
  const uint64_t hi = Hash64(run_key_, session_seq, 0xFFFFFFFFFFULL);
  return UuidString(hi, Mix64(hi ^ 0x53455353ULL));
}

void EventWriter::Append(const SimEvent& e, std::string* out) const {
  if (e.malformed == Malformed::kNone) {
    AppendValid(e, out);
  } else {
    AppendMalformed(e, out);
  }
}

void EventWriter::AppendExperiments(uint64_t variants, std::string* out) const {
  const std::vector<ExperimentSpec>& exps = population_->experiments();
  if (exps.empty()) return;
  out->append(",\"experiments\":{");
  for (size_t i = 0; i < exps.size(); ++i) {
    if (i > 0) out->push_back(',');
    AppendJsonString(out, exps[i].id);
    out->push_back(':');
    AppendJsonString(out, exps[i].variants[(variants >> (4 * i)) & 0xF]);
  }
  out->push_back('}');
}

void EventWriter::AppendValid(const SimEvent& e, std::string* out) const {
  char id[36];
  const uint64_t hi = Hash64(run_key_, e.session_seq, e.event_seq);
  FormatUuid(hi, Mix64(hi ^ 0x45564E54ULL), id);
  out->append("{\"event_id\":\"");
  out->append(id, 36);
  out->append("\",\"type\":\"");
  out->append(EventTypeName(e.type));
  out->append("\",\"ts\":");
  AppendInt(out, e.ts_ms);
  const uint64_t shi = Hash64(run_key_, e.session_seq, 0xFFFFFFFFFFULL);
  FormatUuid(shi, Mix64(shi ^ 0x53455353ULL), id);
  out->append(",\"session_id\":\"");
  out->append(id, 36);
  char profile[16];
  auto [pend, pec] = std::to_chars(profile, profile + sizeof(profile), e.profile);
  const size_t digits = static_cast<size_t>(pend - profile);
  out->append("\",\"profile_id\":\"p-");
  if (digits < 8) out->append(8 - digits, '0');
  out->append(profile, digits);
  out->push_back('"');
  out->append(title_fields_[e.title]);
  out->append(device_fields_[e.device]);
  out->append(country_fields_[e.country]);
  out->append(cdn_fields_[e.cdn]);
  out->append(os_fields_[e.os]);
  out->append(app_fields_[e.app_version]);
  out->append(isp_fields_[e.isp]);
  if (e.position_ms >= 0) {
    out->append(",\"position_ms\":");
    AppendInt(out, e.position_ms);
  }
  if (e.bitrate_kbps >= 0) {
    out->append(",\"bitrate_kbps\":");
    AppendInt(out, e.bitrate_kbps);
  }
  if (e.startup_ms >= 0) {
    out->append(",\"startup_ms\":");
    AppendInt(out, e.startup_ms);
  }
  if (e.rebuffer_ms >= 0) {
    out->append(",\"rebuffer_ms\":");
    AppendInt(out, e.rebuffer_ms);
  }
  if (e.error_code >= 0) {
    out->append(",\"error_code\":\"");
    out->append(World().error_codes[static_cast<size_t>(e.error_code)]);
    out->append(e.fatal ? "\",\"fatal\":true" : "\",\"fatal\":false");
  }
  if (e.live_event > 0) {
    out->append(",\"live_event_id\":");
    AppendJsonString(out, live_event_ids_[e.live_event - 1]);
  }
  AppendExperiments(e.variants, out);
  out->push_back('}');
}

// A well-formed JSON object that breaks exactly one rule of events.md.
void EventWriter::AppendMalformed(const SimEvent& e, std::string* out) const {
  const WorldTables& w = World();
  const Malformed m = e.malformed;
  std::string event_id = EventId(e);
  if (m == Malformed::kLongEventId) event_id += "-" + event_id;  // 73 chars
  out->append("{\"event_id\":");
  AppendJsonString(out, event_id);
  EventType type = e.type;
  if (m == Malformed::kPlayStartWithoutStartup) type = EventType::kPlayStart;
  if (m == Malformed::kFatalNotBool) type = EventType::kError;
  if (m == Malformed::kUnknownType) {
    out->append(",\"type\":\"playing\"");
  } else if (m != Malformed::kMissingType) {
    out->append(",\"type\":\"");
    out->append(EventTypeName(type));
    out->push_back('"');
  }
  if (m == Malformed::kBadTs) {
    out->append(",\"ts\":\"yesterday\"");
  } else {
    out->append(",\"ts\":");
    AppendInt(out, m == Malformed::kFarFuture ? e.ts_ms + 2LL * 86400 * 1000 : e.ts_ms);
  }
  out->append(",\"session_id\":");
  AppendJsonString(out, SessionId(e.session_seq));
  out->append(",\"profile_id\":");
  AppendJsonString(out, Population::ProfileId(e.profile));
  out->append(title_fields_[e.title]);
  out->append(m == Malformed::kUnknownDevice ? ",\"device_type\":\"fridge\""
                                             : std::string_view(device_fields_[e.device]));
  if (m == Malformed::kLowercaseCountry) {
    std::string c(w.countries[e.country]);
    for (char& ch : c) ch = static_cast<char>(ch - 'A' + 'a');
    out->append(Field("country", c));
  } else {
    out->append(country_fields_[e.country]);
  }
  if (m == Malformed::kLongCdn) {
    out->append(Field("cdn", std::string(w.cdns[e.cdn]) + "-edge-cache-cluster-0042-frankfurt"));
  } else {
    out->append(cdn_fields_[e.cdn]);
  }
  out->append(",\"position_ms\":");
  AppendInt(out, m == Malformed::kNegativePosition ? -5000 : std::max<int64_t>(0, e.position_ms));
  if (type == EventType::kError) {
    out->append(",\"error_code\":\"DECODER_ERROR\"");
    out->append(m == Malformed::kFatalNotBool ? ",\"fatal\":\"yes\"" : ",\"fatal\":false");
  }
  if (type == EventType::kPlayStart && m != Malformed::kPlayStartWithoutStartup) {
    out->append(",\"startup_ms\":900");
  }
  if (type == EventType::kRebufferEnd) out->append(",\"rebuffer_ms\":1200");
  if (m == Malformed::kExperimentsNotObject) {
    out->append(",\"experiments\":\"exp-autoplay=control\"");
  } else {
    AppendExperiments(e.variants, out);
  }
  out->push_back('}');
}

}  // namespace viewpipe::sim
