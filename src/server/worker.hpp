#pragma once
// A worker thread: its own event loop and its own SO_REUSEPORT listeners, so the kernel
// spreads connections across workers and no lock is shared on the accept path.
#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "server/connection.hpp"
#include "server/event_loop.hpp"

namespace tlsresume::server {

class Worker {
 public:
  Worker(const ServingContext& ctx, std::vector<int> listen_fds);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  void start();
  // Stop accepting, let open connections finish for up to `grace`, then stop.
  void drain(std::chrono::seconds grace);
  void join();

  EventLoop& loop() noexcept { return loop_; }
  bool draining() const noexcept { return draining_.load(std::memory_order_relaxed); }
  void retire(Connection* c) noexcept;  // called by a connection that closed itself

 private:
  struct Listener final : EventHandler {
    Worker* worker;
    int fd;
    Listener(Worker* w, int f) : worker(w), fd(f) {}
    void onEvents(std::uint32_t) noexcept override { worker->acceptFrom(fd); }
  };
  void run();
  void acceptFrom(int fd) noexcept;
  void pauseAccepting() noexcept;
  void resumeAccepting() noexcept;
  void sweep();
  void freeRetired() noexcept;

  const ServingContext& ctx_;
  std::vector<int> listen_fds_;
  std::vector<std::unique_ptr<Listener>> listeners_;
  EventLoop loop_;
  std::thread thread_;
  Connection* head_ = nullptr;  // open connections, intrusive list
  std::size_t open_ = 0;
  std::vector<Connection*> retired_;
  std::atomic<bool> draining_{false};
  std::atomic<std::int64_t> drain_deadline_ns_{0};
  bool listeners_closed_ = false;
  bool accept_paused_ = false;  // out of descriptors or memory: listeners out of the epoll set
  std::chrono::steady_clock::time_point last_pause_log_{};
  std::uint64_t pauses_since_log_ = 0;
};

}  // namespace tlsresume::server
