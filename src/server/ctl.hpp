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

CtlResult adminRequest(const Endpoint& admin, const std::string& method, const std::string& target);

}  // namespace tlsresume::server
