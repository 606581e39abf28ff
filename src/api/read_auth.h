#pragma once
// Read tokens (api.md): when any are configured, every read endpoint under
// /v1/ (all but the collector's POST /v1/events, which has write keys)
// needs `Authorization: Bearer <read-token>`; browsers' EventSource cannot
// set headers, so `?access_token=<read-token>` is accepted too. Missing or
// wrong: 401 {"error": ...} with `WWW-Authenticate: Bearer`. The service
// endpoints (/healthz, /readyz, /metrics) and the dashboard's static files
// stay open: probes and the page itself carry no data.
//
// Thread safety: the installed handler only reads the token list.

#include <string>
#include <string_view>
#include <vector>

namespace httplib {
class Server;
struct Request;
}  // namespace httplib

namespace viewpipe {

// True when req may read: no tokens configured, a path that needs none, or
// a configured token in the header or the access_token parameter.
bool ReadAllowed(const httplib::Request& req, const std::vector<std::string>& tokens);

// True when authorization is "Bearer <t>" or access_token (may be null)
// is <t>, for a configured token t (compared in constant time). The check
// of ReadAllowed once a path needs a token; the lookup server's too.
bool TokenAllowed(std::string_view authorization, const std::string* access_token,
                  const std::vector<std::string>& tokens);

// Installs the check as the server's pre-routing handler (before any
// route). No-op when tokens is empty.
void InstallReadAuth(httplib::Server* server, std::vector<std::string> tokens);

}  // namespace viewpipe
