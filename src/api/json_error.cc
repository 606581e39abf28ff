#include "api/json_error.h"

#include <httplib.h>

#include "common/json_writer.h"

namespace viewpipe {

std::string JsonErrorBody(std::string_view why) {
  std::string body = "{\"error\":";
  AppendJsonString(&body, why);
  body += '}';
  return body;
}

void SendJsonError(httplib::Response& res, int status, std::string_view why) {
  res.status = status;
  res.set_content(JsonErrorBody(why), "application/json");
}

}  // namespace viewpipe
