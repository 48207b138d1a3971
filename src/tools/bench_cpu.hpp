#pragma once
// CPU time of a server process and everything it forked, from /proc (Linux).
#include <sys/types.h>

#include <optional>

namespace tlsresume::tools::bench {

// CPU time (user + system) of `root` and of every live descendant (nginx's workers are
// children of its master, found through the ppid field of /proc/*/stat), in microseconds;
// nullopt if `root` is gone (a zombie too). Each live process from its CPU clock
// (nanoseconds, its exited threads included) where the kernel has schedstat, otherwise
// from utime + stime (clock ticks, 10 ms steps); children that exited and were reaped from
// their parents' cutime + cstime (clock ticks), so a fork-per-connection server is
// measured too, if coarsely: measure such a one for seconds. Not counted: children of a
// parent that ignores SIGCHLD (the kernel reaps them without adding their time anywhere)
// and children re-parented to init.
std::optional<double> processTreeCpuUs(pid_t root);

// Whether `pid` ignores SIGCHLD (SigIgn in /proc/PID/status): the kernel then reaps its
// children itself and their CPU time is lost to processTreeCpuUs once they exit.
bool ignoresSigchld(pid_t pid);

}  // namespace tlsresume::tools::bench
