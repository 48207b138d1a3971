#include "server/event_loop.hpp"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>

namespace tlsresume::server {
namespace {
// epoll's data pointer of the task descriptor: never a handler's address.
char task_marker;
}  // namespace

EventLoop::EventLoop() {
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (epoll_fd_ < 0 || wake_fd_ < 0) throw std::runtime_error("epoll/eventfd: out of descriptors");
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.ptr = nullptr;  // null marks the wake-up descriptor
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev);
  task_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (task_fd_ < 0) throw std::runtime_error("eventfd: out of descriptors");
  ev.data.ptr = &task_marker;
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, task_fd_, &ev);
}

EventLoop::~EventLoop() {
  if (task_fd_ >= 0) close(task_fd_);
  if (wake_fd_ >= 0) close(wake_fd_);
  if (epoll_fd_ >= 0) close(epoll_fd_);
}

bool EventLoop::add(int fd, std::uint32_t events, EventHandler* handler) noexcept {
  epoll_event ev{};
  ev.events = events;
  ev.data.ptr = handler;
  return epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) == 0;
}

bool EventLoop::modify(int fd, std::uint32_t events, EventHandler* handler) noexcept {
  epoll_event ev{};
  ev.events = events;
  ev.data.ptr = handler;
  return epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd, &ev) == 0;
}

void EventLoop::remove(int fd) noexcept { epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr); }

void EventLoop::run(const std::function<void()>& after_batch, const std::function<void()>& on_tick,
                    std::chrono::milliseconds tick) {
  constexpr int kBatch = 128;
  epoll_event events[kBatch];
  auto next_tick = std::chrono::steady_clock::now() + tick;
  for (;;) {
    const auto now = std::chrono::steady_clock::now();
    // Rounded up: truncated, the last fraction of a millisecond before each tick became
    // epoll_wait(..., 0) again and again, a busy loop until the tick came.
    const auto wait_ms = std::max<long long>(0, std::chrono::ceil<std::chrono::milliseconds>(next_tick - now).count());
    const int n = epoll_wait(epoll_fd_, events, kBatch, static_cast<int>(wait_ms));
    if (n < 0 && errno != EINTR) throw std::runtime_error("epoll_wait failed");
    bool stopping = false;
    for (int i = 0; i < n; ++i) {
      auto* handler = static_cast<EventHandler*>(events[i].data.ptr);
      if (!handler) {
        stopping = true;
        continue;
      }
      if (events[i].data.ptr == &task_marker) {
        runTasks();
        continue;
      }
      handler->onEvents(events[i].events);
    }
    after_batch();
    if (stopping) return;
    if (std::chrono::steady_clock::now() >= next_tick) {
      on_tick();
      next_tick = std::chrono::steady_clock::now() + tick;
    }
  }
}

void EventLoop::post(std::function<void()> task) noexcept {
  try {
    std::lock_guard lock(tasks_mutex_);
    tasks_.push_back(std::move(task));
  } catch (...) {
    return;  // out of memory: the connection waiting for it meets its handshake time-out
  }
  const std::uint64_t one = 1;
  [[maybe_unused]] auto r = write(task_fd_, &one, sizeof one);
}

void EventLoop::runTasks() {
  std::uint64_t count = 0;
  [[maybe_unused]] auto r = read(task_fd_, &count, sizeof count);
  std::vector<std::function<void()>> batch;
  {
    std::lock_guard lock(tasks_mutex_);
    batch.swap(tasks_);
  }
  for (auto& task : batch) task();
}

void EventLoop::stop() noexcept {
  const std::uint64_t one = 1;
  [[maybe_unused]] auto r = write(wake_fd_, &one, sizeof one);
}

}  // namespace tlsresume::server
