#pragma once
// The floor: the TLS library alone, a client and a server SSL joined by a memory BIO pair.
// No sockets, no HTTP, no event loop: the least CPU a handshake of each kind costs with
// this library, these algorithms and this key, to set a server's figures against.
#include <atomic>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "tools/bench_peers.hpp"
#include "tools/bench_types.hpp"

namespace tlsresume::tools::bench {

// Wall time per scenario and round: one 400 ms sample moved ±30% between runs here, so
// the floor is measured every round and the median kept.
inline constexpr auto kFloorPerScenario = std::chrono::milliseconds(400);

// Measures each scenario for about `per_scenario` of wall time (at least a few dozen
// handshakes). Server and client times are the thread's CPU time spent inside each
// side's TLS library calls; `library` names the library this binary was built with.
std::vector<FloorResult> measureFloor(const CertMaterial& cert, const std::vector<Scenario>& scenarios,
                                      double mix_no_ticket, std::chrono::milliseconds per_scenario,
                                      const std::atomic<bool>& stop);

// `tlsresume bench --floor-lines` (hidden): the floor of this binary's library for each
// --cert-type and --scenarios, as tab-separated lines on standard output, so that a run
// driven by a binary of the other library can set our server built with this one against
// its own library's floor. Returns an exit code.
int printFloorLines(const BenchOptions& options);
// The floor of `binary`'s library (another tlsresume build), by its --floor-lines, run in
// `dir`; pinned to `cpu` when given (the CPU the in-process floor runs on). Throws
// BenchError with the child's words when it fails.
std::vector<FloorResult> measureFloorWith(const std::string& binary, CertType cert, Scenario scenario,
                                          double mix_no_ticket, const TempDir& dir, std::optional<int> cpu);
// Parses --floor-lines output; lines that are not floor lines are ignored.
std::vector<FloorResult> parseFloorLines(const std::string& text);

}  // namespace tlsresume::tools::bench
