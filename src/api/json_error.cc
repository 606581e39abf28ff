#include "api/json_error.h"

#include <httplib.h>

#include "common/json_writer.h"

namespace viewpipe {

void SendJsonError(httplib::Response& res, int status, std::string_view why) {
  std::string body = "{\"error\":";
  AppendJsonString(&body, why);
  body += '}';
  res.status = status;
  res.set_content(body, "application/json");
}

}  // namespace viewpipe
