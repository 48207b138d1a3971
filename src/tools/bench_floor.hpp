#pragma once
// The floor: OpenSSL alone, a client and a server SSL joined by a memory BIO pair. No
// sockets, no HTTP, no event loop: the least CPU a handshake of each kind costs with this
// OpenSSL, these algorithms and this key, to set our server's figures against.
#include <atomic>
#include <chrono>
#include <vector>

#include "tools/bench_peers.hpp"
#include "tools/bench_types.hpp"

namespace tlsresume::tools::bench {

// Measures each scenario for about `per_scenario` of wall time (at least a few dozen
// handshakes). Server and client times are the thread's CPU time spent inside each
// side's OpenSSL calls.
std::vector<FloorResult> measureFloor(const CertMaterial& cert, const std::vector<Scenario>& scenarios,
                                      double mix_no_ticket, std::chrono::milliseconds per_scenario,
                                      const std::atomic<bool>& stop);

}  // namespace tlsresume::tools::bench
