#pragma once
// Test-only: the S3-compatible server the ObjectStore conformance tests run
// against. VP_S3_ENDPOINT (set by scripts/test.sh, which starts one) names a
// running server; otherwise the first caller starts moto's server mode
// (`tests/s3_server.py`: moto.server, PyPI moto[server], with atomic
// conditional writes) on a free loopback port and stops it at exit. When
// neither works, the S3 cases skip loudly.

#include <string>

namespace viewpipe {

class S3TestServer {
 public:
  // "http://127.0.0.1:PORT", or "" when none is available (Reason() says why).
  static const std::string& Endpoint();
  static const std::string& Reason();
};

}  // namespace viewpipe
