#include "api/read_auth.h"

#include <httplib.h>

#include "api/json_error.h"

namespace viewpipe {
namespace {

// Compares in time independent of where the strings differ.
bool SameSecret(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

bool NeedsToken(const httplib::Request& req) {
  if (req.path.rfind("/v1/", 0) != 0) return false;  // static files, /healthz, /metrics
  return !(req.path == "/v1/events" && req.method == "POST");
}

bool Known(std::string_view token, const std::vector<std::string>& tokens) {
  bool found = false;
  for (const std::string& t : tokens) found |= SameSecret(token, t);
  return found && !token.empty();
}

}  // namespace

bool TokenAllowed(std::string_view authorization, const std::string* access_token,
                  const std::vector<std::string>& tokens) {
  constexpr std::string_view kBearer = "Bearer ";
  if (authorization.substr(0, kBearer.size()) == kBearer &&
      Known(authorization.substr(kBearer.size()), tokens)) {
    return true;
  }
  return access_token != nullptr && Known(*access_token, tokens);
}

bool ReadAllowed(const httplib::Request& req, const std::vector<std::string>& tokens) {
  if (tokens.empty() || !NeedsToken(req)) return true;
  const std::string header = req.get_header_value("Authorization");
  if (!req.has_param("access_token")) return TokenAllowed(header, nullptr, tokens);
  const std::string param = req.get_param_value("access_token");
  return TokenAllowed(header, &param, tokens);
}

void InstallReadAuth(httplib::Server* server, std::vector<std::string> tokens) {
  if (tokens.empty()) return;
  server->set_pre_routing_handler(
      [tokens = std::move(tokens)](const httplib::Request& req, httplib::Response& res) {
        if (ReadAllowed(req, tokens)) return httplib::Server::HandlerResponse::Unhandled;
        res.set_header("WWW-Authenticate", "Bearer");
        SendJsonError(res, 401,
                      "a read token is required: 'Authorization: Bearer <read-token>' "
                      "(or ?access_token=)");
        return httplib::Server::HandlerResponse::Handled;
      });
}

}  // namespace viewpipe
