#pragma once
// A minimal level-triggered epoll loop, one per worker thread. Handlers are told which
// events fired; a timer callback runs every `tick`; stop() may be called from any thread.
#include <chrono>
#include <cstdint>
#include <functional>

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

 private:
  int epoll_fd_ = -1;
  int wake_fd_ = -1;
};

}  // namespace tlsresume::server
