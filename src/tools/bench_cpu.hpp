#pragma once
// CPU time of a server process and everything it forked, from /proc (Linux).
#include <sys/types.h>

#include <optional>

namespace tlsresume::tools::bench {

// utime + stime of `root` and of every live descendant (nginx's workers are children of
// its master, found through the ppid field of /proc/*/stat), plus cutime + cstime of all
// of them for descendants already reaped. In microseconds; nullopt if `root` is gone.
// The kernel reports clock ticks (10 ms with USER_HZ = 100), so measure for seconds.
std::optional<double> processTreeCpuUs(pid_t root);

}  // namespace tlsresume::tools::bench
