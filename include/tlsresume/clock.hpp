#pragma once
// Time is injected everywhere a lifetime is judged, so tests drive expiry and key
// rotation with a FakeClock instead of sleeping.
#include <atomic>
#include <chrono>

namespace tlsresume {

using WallClock = std::chrono::system_clock;
using TimePoint = WallClock::time_point;

// Contract: now() is thread-safe and never throws. Wall time (not steady time) because
// issue times travel inside tickets and across a fleet, and "revoke everything issued
// before T" names a wall-clock T.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint now() const noexcept = 0;
};

class SystemClock final : public Clock {
 public:
  TimePoint now() const noexcept override { return WallClock::now(); }
  static const SystemClock& instance() noexcept {
    static const SystemClock clock;
    return clock;
  }
};

// A clock that moves only when told to. Thread-safe.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(TimePoint start = TimePoint{std::chrono::seconds{1'700'000'000}})
      : ns_(start.time_since_epoch().count()) {}
  TimePoint now() const noexcept override {
    return TimePoint{WallClock::duration{ns_.load(std::memory_order_relaxed)}};
  }
  void advance(WallClock::duration d) noexcept { ns_.fetch_add(d.count(), std::memory_order_relaxed); }
  void set(TimePoint t) noexcept { ns_.store(t.time_since_epoch().count(), std::memory_order_relaxed); }

 private:
  std::atomic<WallClock::rep> ns_;
};

}  // namespace tlsresume
