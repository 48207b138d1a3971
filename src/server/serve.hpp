#pragma once
// `tlsresume serve`: assembles the engine, the TLS frontend, the workers and the admin
// endpoint from a Config, runs until SIGTERM/SIGINT, and drains.
#include "server/config.hpp"

namespace tlsresume::server {

// Exit codes: 0 clean stop, 2 bad configuration / certificate / port (nothing started).
inline constexpr int kExitBadConfig = 2;

int serve(const Config& config);

}  // namespace tlsresume::server
