#pragma once
// `tlsresume serve`: assembles the engine, the TLS frontend, the workers and the admin
// endpoint from a Config, runs until SIGTERM/SIGINT, and drains.
#include <functional>

#include "server/config.hpp"

namespace tlsresume::server {

// Exit codes: 0 clean stop, 2 bad configuration / certificate / port (nothing started).
inline constexpr int kExitBadConfig = 2;

// `reread` builds the configuration again from where `config` came from (the file, then
// the flags): SIGHUP, `ctl reload` and POST /reload call it. Empty: reload is refused.
int serve(const Config& config, const std::function<Config()>& reread = {});

// `serve --check-config`: loads every certificate and key, reads every secret file and
// runs every check start-up runs (the same code), without starting a thread or binding a
// port. Prints "configuration OK" (stdout) and returns 0, or prints the one-line error
// start-up would print (stderr) and returns kExitBadConfig.
int checkConfig(const Config& config);

}  // namespace tlsresume::server
