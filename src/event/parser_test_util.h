#pragma once
// Test helpers for the parser tests: build event JSON field by field and
// parse it the way the collector does.

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "event/parser.h"

namespace viewpipe::testing {

constexpr int64_t kNow = 1764396767123;  // received_at: 2025-11-29T06:12:47.123Z

// An event as (key, raw JSON value) pairs, in order.
class EventJson {
 public:
  // A valid heartbeat with only the required fields.
  static EventJson Valid() {
    EventJson e;
    e.fields_ = {{"event_id", "\"e-1\""},   {"type", "\"heartbeat\""}, {"ts", std::to_string(kNow)},
                 {"session_id", "\"s-1\""}, {"profile_id", "\"p-1\""}, {"title_id", "\"t-1\""},
                 {"device_type", "\"tv\""}, {"country", "\"US\""},     {"cdn", "\"akamai\""}};
    return e;
  }
  // Replaces key's value, or appends key.
  EventJson& Set(const std::string& key, const std::string& raw_value) {
    for (auto& [k, v] : fields_) {
      if (k == key) {
        v = raw_value;
        return *this;
      }
    }
    fields_.emplace_back(key, raw_value);
    return *this;
  }
  EventJson& SetString(const std::string& key, const std::string& text) {
    return Set(key, "\"" + text + "\"");
  }
  EventJson& Remove(const std::string& key) {
    std::erase_if(fields_, [&](const auto& f) { return f.first == key; });
    return *this;
  }
  std::string Json() const {
    std::string out = "{";
    for (size_t i = 0; i < fields_.size(); ++i) {
      if (i > 0) out += ",";
      out += "\"" + fields_[i].first + "\":" + fields_[i].second;
    }
    return out + "}";
  }

 private:
  std::vector<std::pair<std::string, std::string>> fields_;
};

inline std::string JsonBody(const std::vector<std::string>& events) {
  std::string out = "{\"events\":[";
  for (size_t i = 0; i < events.size(); ++i) out += (i > 0 ? "," : "") + events[i];
  return out + "]}";
}

inline std::string NdjsonBody(const std::vector<std::string>& events) {
  std::string out;
  for (const auto& e : events) out += e + "\n";
  return out;
}

inline Result<ParsedBatch> Parse(const std::string& body, BodyFormat format = BodyFormat::kJson,
                                 const ParseLimits& limits = ParseLimits{}) {
  return ParseBatch(body, format, kNow, limits);
}

// Parses one event (JSON body) and returns "" if accepted, else its error.
inline std::string Outcome(const std::string& event_json,
                           const ParseLimits& limits = ParseLimits{}) {
  auto batch = Parse(JsonBody({event_json}), BodyFormat::kJson, limits);
  if (!batch.ok()) return "BODY " + batch.status().ToString();
  if (batch->total != 1) return "TOTAL " + std::to_string(batch->total);
  if (batch->accepted.size() == 1) return "";
  return batch->rejected.at(0).error;
}

inline std::string Outcome(const EventJson& e, const ParseLimits& limits = ParseLimits{}) {
  return Outcome(e.Json(), limits);
}

}  // namespace viewpipe::testing
