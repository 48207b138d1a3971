#pragma once
// `tlsresume bench`: measures whether session resumption pays off, against our own
// server, nginx, haproxy or any HOST:PORT, and reports speed next to security cost.
#include <CLI/CLI.hpp>

namespace tlsresume::tools {

// Registers the subcommand and its options on `app`; the parsed values live inside
// bench.cpp until runBenchCommand() reads them.
CLI::App* addBenchCommand(CLI::App& app);

// Runs the parsed command. Exit codes: 0 run completed (skipped peers included),
// 1 hard error (unreachable target, server that would not start), 2 bad arguments,
// 130 interrupted.
int runBenchCommand();

}  // namespace tlsresume::tools
