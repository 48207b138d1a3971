#include "tools/bench_cpu.hpp"

#include <dirent.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace tlsresume::tools::bench {
namespace {

struct ProcStat {
  char state = '?';  // 'Z': exited, not yet reaped
  pid_t ppid = 0;
  unsigned long long own_ticks = 0;     // utime + stime: its own threads
  unsigned long long reaped_ticks = 0;  // cutime + cstime: children it has waited for
};

std::optional<ProcStat> readStat(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(in, line)) return std::nullopt;
  // The command name is in parentheses and may hold spaces: fields start after the last ')'.
  const auto close = line.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream rest(line.substr(close + 1));
  std::vector<std::string> f;
  for (std::string w; rest >> w && f.size() < 15;) f.push_back(w);
  if (f.size() < 15) return std::nullopt;
  // f[0] is field 3 (state): ppid is field 4, utime..cstime are fields 14..17 (proc(5)).
  ProcStat s;
  s.state = f[0].empty() ? '?' : f[0][0];
  s.ppid = static_cast<pid_t>(std::strtol(f[1].c_str(), nullptr, 10));
  const auto field = [&](std::size_t i) { return std::strtoull(f[i].c_str(), nullptr, 10); };
  s.own_ticks = field(11) + field(12);
  s.reaped_ticks = field(13) + field(14);
  return s;
}

// Nanoseconds on a CPU of every live thread of `pid` (/proc/PID/task/TID/schedstat, first
// field). The clock-tick fields of /proc/PID/stat count in 10 ms steps, coarse for a cell
// of a few hundred handshakes; this is the same time (user and system) in nanoseconds.
// A process or thread that is gone by the time we look counts 0.
unsigned long long threadsRunNs(pid_t pid) {
  const std::string dir = "/proc/" + std::to_string(pid) + "/task";
  DIR* d = opendir(dir.c_str());
  if (!d) return 0;
  unsigned long long ns = 0;
  while (dirent* e = readdir(d)) {
    if (!std::isdigit(static_cast<unsigned char>(e->d_name[0]))) continue;
    std::ifstream in(dir + "/" + e->d_name + "/schedstat");
    unsigned long long run = 0;
    if (in >> run) ns += run;
  }
  closedir(d);
  return ns;
}

// Nanoseconds on a CPU of process `pid`, threads that already exited included (the
// process CPU clock); the live threads' schedstat if that clock cannot be read.
unsigned long long processRunNs(pid_t pid) {
  clockid_t clock{};
  timespec ts{};
  if (clock_getcpuclockid(pid, &clock) == 0 && clock_gettime(clock, &ts) == 0)
    return static_cast<unsigned long long>(ts.tv_sec) * 1'000'000'000ULL + static_cast<unsigned long long>(ts.tv_nsec);
  return threadsRunNs(pid);
}

// Whether this kernel has schedstat (CONFIG_SCHED_INFO); decided once, so that every
// sample of a run is in the same unit.
bool haveSchedstat() {
  static const bool have = [] {
    std::ifstream in("/proc/self/schedstat");
    unsigned long long run = 0;
    return static_cast<bool>(in >> run);
  }();
  return have;
}

}  // namespace

std::optional<double> processTreeCpuUs(pid_t root) {
  const auto root_stat = readStat(root);
  if (!root_stat || root_stat->state == 'Z') return std::nullopt;  // gone, reaped or not
  std::map<pid_t, ProcStat> all;
  if (DIR* d = opendir("/proc")) {
    while (dirent* e = readdir(d)) {
      if (!std::isdigit(static_cast<unsigned char>(e->d_name[0]))) continue;
      const pid_t pid = static_cast<pid_t>(std::strtol(e->d_name, nullptr, 10));
      if (auto s = readStat(pid)) all[pid] = *s;
    }
    closedir(d);
  }
  all[root] = *root_stat;
  // Walk down from the root; a pid is in the tree if its parent chain reaches it.
  unsigned long long own_ticks = 0;
  unsigned long long reaped_ticks = 0;
  unsigned long long ns = 0;
  const bool precise = haveSchedstat();
  std::vector<pid_t> frontier{root};
  std::map<pid_t, std::vector<pid_t>> children;
  for (const auto& [pid, s] : all) children[s.ppid].push_back(pid);
  while (!frontier.empty()) {
    const pid_t p = frontier.back();
    frontier.pop_back();
    own_ticks += all[p].own_ticks;
    reaped_ticks += all[p].reaped_ticks;
    if (precise) ns += processRunNs(p);
    for (pid_t c : children[p])
      if (c != root) frontier.push_back(c);
  }
  static const double kUsPerTick = 1e6 / static_cast<double>(sysconf(_SC_CLK_TCK));
  // A child that exits during a cell leaves the live-thread sum, and its time (to the tick)
  // joins its parent's cutime + cstime once reaped: counting both keeps a fork-per-connection
  // server's work instead of losing every child that came and went within the cell.
  const double reaped_us = static_cast<double>(reaped_ticks) * kUsPerTick;
  if (precise) return static_cast<double>(ns) / 1e3 + reaped_us;
  return static_cast<double>(own_ticks) * kUsPerTick + reaped_us;
}

bool ignoresSigchld(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);) {
    if (!line.starts_with("SigIgn:")) continue;
    // A hexadecimal mask; signal N is bit N-1.
    const unsigned long long mask = std::strtoull(line.c_str() + 7, nullptr, 16);
    return (mask >> (SIGCHLD - 1)) & 1;
  }
  return false;
}

}  // namespace tlsresume::tools::bench
