#pragma once
// SharedCell: an immutable snapshot that one writer publishes and many readers copy,
// used wherever the handshake path reads shared state (keyring, revocation list).
#include <atomic>
#include <memory>

namespace tlsresume::detail {

// A shared_ptr that one writer publishes and many readers copy: what
// std::atomic<std::shared_ptr<T>> promises. Not that type: libstdc++ 12's load() releases
// its internal spin lock with memory_order_relaxed, so a reader's read of the pointer is not
// ordered before the next store (a data race by the C++ memory model; ThreadSanitizer
// reports it, google/sanitizers#1558). Same design with acquire/release ordering: readers
// hold the flag only while bumping a reference count; no mutex, no syscall.
template <class T>
class SharedCell {
 public:
  std::shared_ptr<T> load() const noexcept {
    lock();
    std::shared_ptr<T> copy = value_;
    unlock();
    return copy;
  }
  void store(std::shared_ptr<T> next) noexcept {
    lock();
    value_.swap(next);
    unlock();
  }  // `next` now holds the previous value and is released here, outside the lock

 private:
  void lock() const noexcept {
    while (busy_.test_and_set(std::memory_order_acquire))
      while (busy_.test(std::memory_order_relaxed)) {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
      }
  }
  void unlock() const noexcept { busy_.clear(std::memory_order_release); }

  mutable std::atomic_flag busy_;  // clear on construction (C++20)
  std::shared_ptr<T> value_;
};

}  // namespace tlsresume::detail
