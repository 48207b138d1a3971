#pragma once
// A minimal level-triggered epoll loop, one per worker thread. Handlers are told which
// events fired; a timer callback runs every `tick`; stop() may be called from any thread.
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <vector>

namespace tlsresume::server {

class EventHandler {
 public:
  virtual void onEvents(std::uint32_t events) noexcept = 0;

 protected:
  ~EventHandler() = default;
};

class EventLoop {
 public:
  EventLoop();
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  bool add(int fd, std::uint32_t events, EventHandler* handler) noexcept;
  bool modify(int fd, std::uint32_t events, EventHandler* handler) noexcept;
  void remove(int fd) noexcept;

  // Runs until stop(). `after_batch` runs after every batch of events (frees closed
  // connections), `on_tick` about every `tick`.
  void run(const std::function<void()>& after_batch, const std::function<void()>& on_tick,
           std::chrono::milliseconds tick);
  void stop() noexcept;
  // Runs `task` on the loop's thread, after the current batch of events. Thread-safe; the
  // way another thread (the fleet's Redis link) hands a result to a connection. Tasks
  // still queued when the loop stops are dropped.
  void post(std::function<void()> task) noexcept;

 private:
  void runTasks();
  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  int task_fd_ = -1;
  std::mutex tasks_mutex_;
  std::vector<std::function<void()>> tasks_;
};

}  // namespace tlsresume::server
