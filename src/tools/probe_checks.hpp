#pragma once
// The checks of `tlsresume probe`, each a few client connections to the server under
// audit, and the findings they lead to.
#include <chrono>
#include <string>
#include <vector>

#include "tools/probe_client.hpp"
#include "tools/probe_report.hpp"

namespace tlsresume::tools::probe {

struct Options {
  Target target;
  std::string server_name;               // SNI of every check but the isolation one
  std::vector<std::string> sni_pair;     // two names on the same address, or empty
  std::chrono::seconds watch{0};         // 0: no watch
  std::chrono::seconds interval{10};
  bool max_age_probe = false;
  std::string gnutls_cli = "/usr/bin/gnutls-cli";
  bool progress = false;  // a progress line on stderr (a terminal) while watching
};

// Throws ProbeError when the first connection fails (unreachable, not TLS, time-out, a
// handshake refused): nothing else can be said then.
std::vector<Finding> runChecks(const Options& o);

}  // namespace tlsresume::tools::probe
