#pragma once
// `tlsresume ctl`: a small client of the admin endpoint.
#include <string>

#include "server/config.hpp"

namespace tlsresume::server {

struct CtlResult {
  int status = 0;  // HTTP status, 0 when unreachable
  std::string body;
  std::string error;
};

// `token`: sent as "Authorization: Bearer <token>" when not empty (admin_token_file).
CtlResult adminRequest(const Endpoint& admin, const std::string& method, const std::string& target,
                       const std::string& token = {});

// The first line of a token file (ctl --token-file, TLSRESUME_ADMIN_TOKEN_FILE). Throws
// ConfigError naming the file.
std::string readTokenFile(const std::string& path);

}  // namespace tlsresume::server
