#pragma once
// Processes the bench starts (our server, nginx, haproxy) and the scratch directory they
// use. Every child is stopped when its owner goes out of scope, on error paths too; a
// child also gets SIGTERM if the bench itself dies (PR_SET_PDEATHSIG), and it runs in its
// own process group so that Ctrl-C reaches the bench, which then stops it in order.
#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace tlsresume::tools::bench {

// Set by SIGINT/SIGTERM/SIGHUP while an InterruptGuard lives.
const std::atomic<bool>& interrupted();

// Installs the interrupt handlers and ignores SIGPIPE (a server closing first must not
// kill the generator); restores the previous dispositions on destruction.
class InterruptGuard {
 public:
  InterruptGuard();
  ~InterruptGuard();
  InterruptGuard(const InterruptGuard&) = delete;
  InterruptGuard& operator=(const InterruptGuard&) = delete;
};

// A private (0700) directory under $TMPDIR, removed with everything in it on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const noexcept { return path_; }
  // Writes a file readable by its owner only (keys live here, for peers).
  std::string write(const std::string& name, const std::string& content) const;

 private:
  std::string path_;
};

struct SpawnSpec {
  std::vector<std::string> argv;
  std::string log_path;                  // stdout and stderr of the child
  std::vector<std::pair<int, int>> fds;  // parent fd -> fd number in the child
  std::optional<int> cpu;                // pin the child (and what it starts) to this CPU
};

class ChildProcess {
 public:
  ChildProcess() = default;
  static ChildProcess spawn(const SpawnSpec& spec);  // throws BenchError
  ~ChildProcess() { stop(); }
  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&& other) noexcept;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const noexcept { return pid_; }
  // False once the child has exited (it is reaped here).
  bool running();
  // Waits up to `timeout` for the child to exit on its own; its exit status, or nullopt
  // if it is still running (or died from a signal: -signal).
  std::optional<int> wait(std::chrono::milliseconds timeout);
  // SIGTERM, then SIGKILL to the whole process group after `grace`; idempotent.
  void stop(std::chrono::milliseconds grace = std::chrono::milliseconds(5000)) noexcept;
  // The last lines of the child's log, for error messages.
  std::string logTail(std::size_t max_bytes = 600) const;

 private:
  pid_t pid_ = -1;
  bool reaped_ = false;
  std::string log_path_;
};

// Pins the calling thread (the generator) to one CPU; returns false if it cannot.
bool pinSelf(int cpu);

}  // namespace tlsresume::tools::bench
