#pragma once
// One bench run: every cell (certificate type x target x scenario) back to back, servers
// started and stopped around their cells, then the floor, then the outputs.
#include "tools/bench_types.hpp"

namespace tlsresume::tools::bench {

// Runs everything and writes the table (stdout), --json and --report. Returns the exit
// code: 0 completed, 1 hard error, 130 interrupted.
int runBench(BenchOptions options);

}  // namespace tlsresume::tools::bench
