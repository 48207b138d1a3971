#pragma once
// CPU time of a server process and everything it forked, from /proc (Linux).
#include <sys/types.h>

#include <optional>

namespace tlsresume::tools::bench {

// CPU time (user + system) of `root` and of every live descendant (nginx's workers are
// children of its master, found through the ppid field of /proc/*/stat), in microseconds;
// nullopt if `root` is gone. From each live thread's schedstat (nanoseconds) where the
// kernel has it, so threads and children that exited during a cell are not counted (the
// servers we measure keep theirs); otherwise from the clock-tick fields of /proc/PID/stat
// (10 ms steps, reaped children's cutime + cstime included), so measure for seconds.
std::optional<double> processTreeCpuUs(pid_t root);

}  // namespace tlsresume::tools::bench
