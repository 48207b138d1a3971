// bench::processTreeCpuUs over real processes: a server's CPU counts the work of children
// that came and went during a cell (fork-per-connection servers), not only live ones.
#include "tools/bench_cpu.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <ctime>

namespace tlsresume::tools::bench {
namespace {

// Spins until this process has used `ms` of CPU time: on a busy machine (tests run two at
// a time) that takes longer, but the CPU the assertions look for is always spent.
void burn(int ms) {
  const auto cpu = [] {
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return std::chrono::seconds{ts.tv_sec} + std::chrono::nanoseconds{ts.tv_nsec};
  };
  const auto until = cpu() + std::chrono::milliseconds{ms};
  volatile unsigned long x = 0;
  while (cpu() < until) x = x + 1;
}

// A "server" process that, on each byte from `commands`, forks a child that burns 300 ms
// and exits, reaps it, and answers one byte on `done`; exits when `commands` reads EOF.
pid_t startForkingServer(int commands, int commands_writer, int done) {
  const pid_t pid = fork();
  if (pid != 0) return pid;
  close(commands_writer);  // or its own copy would keep `commands` from ever reading EOF
  char c;
  while (read(commands, &c, 1) == 1) {
    const pid_t child = fork();
    if (child == 0) {
      burn(300);
      _exit(0);
    }
    waitpid(child, nullptr, 0);
    if (write(done, "x", 1) != 1) break;
  }
  _exit(0);
}

TEST(ProcessTreeCpu, CountsChildrenThatExitedAndWereReaped) {
  int to_server[2], from_server[2];
  ASSERT_EQ(pipe(to_server), 0);
  ASSERT_EQ(pipe(from_server), 0);
  const pid_t server = startForkingServer(to_server[0], to_server[1], from_server[1]);
  ASSERT_GT(server, 0);
  const auto before = processTreeCpuUs(server);
  ASSERT_TRUE(before.has_value());
  ASSERT_EQ(write(to_server[1], "g", 1), 1);
  char c;
  ASSERT_EQ(read(from_server[0], &c, 1), 1);  // the child has burnt, exited and been reaped
  const auto after = processTreeCpuUs(server);
  ASSERT_TRUE(after.has_value());
  EXPECT_GT(*after - *before, 250'000.0) << "a reaped child's 300 ms of CPU went missing";
  close(to_server[1]);
  waitpid(server, nullptr, 0);
  close(to_server[0]);
  close(from_server[0]);
  close(from_server[1]);
}

TEST(ProcessTreeCpu, CountsLiveChildren) {
  int hold[2], burnt[2];
  ASSERT_EQ(pipe(hold), 0);
  ASSERT_EQ(pipe(burnt), 0);
  const pid_t server = fork();
  ASSERT_GE(server, 0);
  if (server == 0) {
    close(hold[1]);  // so that the test closing its end is an EOF for both
    if (fork() == 0) {  // a worker that burns, says so, then waits for the end of the test
      burn(300);
      if (write(burnt[1], "x", 1) != 1) _exit(1);
      char c;
      (void)read(hold[0], &c, 1);
      _exit(0);
    }
    char c;
    (void)read(hold[0], &c, 1);
    _exit(0);
  }
  const auto before = processTreeCpuUs(server);
  ASSERT_TRUE(before.has_value());
  char c;
  ASSERT_EQ(read(burnt[0], &c, 1), 1);
  const auto after = processTreeCpuUs(server);
  ASSERT_TRUE(after.has_value());
  EXPECT_GT(*after - *before, 150'000.0) << "a live worker's CPU went missing";
  close(hold[1]);  // both read EOF and exit
  waitpid(server, nullptr, 0);
  close(hold[0]);
  close(burnt[0]);
  close(burnt[1]);
}

TEST(ProcessTreeCpu, GoneProcessIsNullopt) {
  const pid_t pid = fork();
  if (pid == 0) _exit(0);
  waitpid(pid, nullptr, 0);
  EXPECT_FALSE(processTreeCpuUs(pid).has_value());
}

// The bench warns when a --server-pid ignores SIGCHLD: read from /proc/PID/status.
TEST(BenchCpu, TellsWhetherAProcessIgnoresSigchld) {
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  const pid_t child = fork();
  if (child == 0) {
    std::signal(SIGCHLD, SIG_IGN);
    char c = 'r';
    (void)!write(ready[1], &c, 1);
    pause();
    _exit(0);
  }
  char c;
  ASSERT_EQ(read(ready[0], &c, 1), 1);
  EXPECT_TRUE(ignoresSigchld(child));
  EXPECT_FALSE(ignoresSigchld(getpid()));  // the test runner keeps the default action
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
  close(ready[0]);
  close(ready[1]);
}

}  // namespace
}  // namespace tlsresume::tools::bench
