#pragma once
// Logging to stderr, one line per event. Never pass key material, session bytes or
// master secrets here: the log is the first place a secret leaks from.
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>

namespace tlsresume::server {

enum class Level { debug = 0, info = 1, warn = 2, error = 3 };

void setLogLevel(Level level);
Level parseLevel(const std::string& name);
void log(Level level, const std::string& message);
// Whether `level` is logged: check before building a message on a hot path.
bool logs(Level level) noexcept;

// One line per `period` at most for a recurring event (a failing backend under load would
// otherwise write a line per connection): the first occurrence is logged at once, later
// ones are counted and reported with the next line. Thread-safe.
class RateLimitedLog {
 public:
  using Now = std::chrono::steady_clock::time_point (*)() noexcept;
  // `now` is the clock (a seam for tests; the steady clock in the server).
  explicit RateLimitedLog(std::chrono::seconds period, Now now = &std::chrono::steady_clock::now);
  ~RateLimitedLog();
  RateLimitedLog(const RateLimitedLog&) = delete;
  RateLimitedLog& operator=(const RateLimitedLog&) = delete;
  void log(Level level, const std::string& message) noexcept;
  // Reports occurrences still unreported once the period has passed, so that the count
  // of a burst that ended is not held back until the next one.
  void flush() noexcept;

 private:
  std::chrono::seconds period_;
  Now now_;
  std::mutex mutex_;
  std::chrono::steady_clock::time_point last_{};
  std::uint64_t suppressed_ = 0;
  Level level_ = Level::info;
  std::string last_message_;
  bool logged_ = false;
};

// flush() on every RateLimitedLog alive; serve calls it once a second.
void flushRateLimitedLogs() noexcept;

}  // namespace tlsresume::server
