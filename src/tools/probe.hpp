#pragma once
// `tlsresume probe HOST:PORT`: audits any TLS server's session resumption and ticket key
// posture from the client side, as a table or JSON, with an exit code for CI.
#include <CLI/CLI.hpp>

namespace tlsresume::tools {

// Registers the subcommand and its options on `app`; the parsed values live inside
// probe.cpp until runProbeCommand() reads them.
CLI::App* addProbeCommand(CLI::App& app);

// Runs the parsed command. Exit codes: 0 every finding ok or info, 1 a warning, 2 a
// failure, an unreachable server, not TLS, a time-out, or bad arguments.
int runProbeCommand();

}  // namespace tlsresume::tools
