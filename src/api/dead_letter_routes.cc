#include "api/dead_letter_routes.h"

#include <httplib.h>

#include <charconv>

#include "api/json_error.h"
#include "common/json_writer.h"
#include "log/log.h"

namespace viewpipe {
namespace {

constexpr int64_t kDefaultLimit = 100;
constexpr int64_t kMaxLimit = 10000;

// Parses an optional non-negative integer query parameter.
bool ParamInt(const httplib::Request& req, const char* name, int64_t* out) {
  if (!req.has_param(name)) return true;
  std::string v = req.get_param_value(name);
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), *out);
  return ec == std::errc() && p == v.data() + v.size() && *out >= 0;
}

void BadRequest(httplib::Response& res, const std::string& why) { SendJsonError(res, 400, why); }

}  // namespace

void RegisterDeadLetterRoutes(httplib::Server* server, const Log* log) {
  server->Get("/v1/deadletters", [log](const httplib::Request& req, httplib::Response& res) {
    int64_t limit = kDefaultLimit;
    int64_t from = -1;
    if (!ParamInt(req, "limit", &limit) || limit > kMaxLimit) {
      return BadRequest(res, "limit must be an integer in [0, 10000]");
    }
    if (!ParamInt(req, "from", &from)) return BadRequest(res, "from must be an offset >= 0");
    const Offset start = log->StartOffset(kTopicDeadLetters, 0);
    const Offset end = log->EndOffset(kTopicDeadLetters, 0);
    if (!req.has_param("from")) from = std::max(start, end - limit);
    auto reader = log->NewReader(kTopicDeadLetters, 0, from);
    std::vector<ConsumedRecord> records;
    if (reader.ok()) {
      auto n = (*reader)->Read(static_cast<size_t>(limit), &records);
      if (!n.ok()) reader = n.status();
    }
    if (!reader.ok()) {
      res.status = 500;
      return res.set_content("{\"error\":\"cannot read dead letters\"}", "application/json");
    }
    std::string body = "{\"dead_letters\":[";
    for (size_t i = 0; i < records.size(); ++i) {
      if (i > 0) body += ',';
      body += "{\"offset\":";
      AppendJsonInt(&body, records[i].offset);
      body += ',';
      body.append(records[i].value.substr(1));  // the stored object, minus its '{'
    }
    body += "],\"next\":";
    AppendJsonInt(&body, records.empty() ? from : records.back().offset + 1);
    body += '}';
    res.set_content(body, "application/json");
  });
}

}  // namespace viewpipe
